// Package docs holds the reference pages that the README links to, and
// tests that every link and repository path they name exists, and every
// repository path that a Go file, script, workflow, the Vagrantfile or
// .ci/run names. The tests only read files.
package docs
