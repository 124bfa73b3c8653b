// Package action holds the tests of what ships the program as a GitHub Action:
// action.yml against the program's options, the Dockerfile's build flags and
// .dockerignore against what the binary is built from, and the workflows that
// run the action. It has no code of its own.
package action
