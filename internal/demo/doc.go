// Package demo runs `sparkplane demo`: a Spark fleet on the local cluster
// (internal/devcluster with Karpenter and the kwok platform bundle), the
// operator and the Spark driver emulator in-process, a seeded mix of
// applications on the cost-optimized profile with Spot interruptions, then the
// same applications on an all-amd64-on-demand baseline, and a report of both.
//
// The pure parts take values and return values, so they are table-tested
// without a cluster: the seeded application mix (Mix, Application), the price
// table read from Karpenter's instance-type file (ParsePrices), the report
// figures (BuildReport: counts, percentiles, node-hours and cost) and the
// self-contained HTML report (RenderHTML: inline SVG, no scripts, no network).
// Run does the I/O: it brings the cluster up, watches nodes and pods to record
// node lifetimes, executor placement and interruption reactions, and writes
// report.json and report.html.
package demo
