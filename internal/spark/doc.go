// Package spark is Spark's vocabulary as sparkplane speaks it: the labels
// Spark puts on driver and executor pods, the configuration keys more than
// one package reads or writes, Spark's size syntax, and the arithmetic by
// which Spark 3.5 turns configuration into pod requests.
//
// It is pure: values in, values out; no client, no clock. Every other package
// of the operator takes these names and rules from here (the driver emulator
// keeps its own copy on purpose, so it checks submission independently; a
// contract test there keeps the two in agreement).
package spark
