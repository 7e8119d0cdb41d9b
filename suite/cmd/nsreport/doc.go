// Command nsreport turns the suite's Ginkgo JSON report into the combination
// matrix: a JSON matrix for machines and a Markdown table for people, and
// puts the matrices of several machines side by side.
//
//	nsreport matrix -in report.json -name centos7 -md matrix.md -json matrix.json
//	nsreport combine -md combined.md reports/centos7/matrix.json reports/rocky9/matrix.json
//
// It needs no privilege and changes nothing but the files it is told to write.
package main
