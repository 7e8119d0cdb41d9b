// Package docs holds the reference pages that the README links to, and a test that every link and repository path they name exists.
package docs
