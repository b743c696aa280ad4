// Package emulator plays the Spark driver's part towards Kubernetes on clusters
// whose pods run on kwok nodes, where no container ever starts.
//
// For every driver pod (label spark-role=driver) that becomes Running, the
// emulator reads the driver's spark.properties and executor pod template from
// the ConfigMaps mounted into the driver container, exactly as a Spark 3.5
// driver would find them, and then:
//
//   - creates executor pods the way Spark's ExecutorPodsAllocator and
//     BasicExecutorFeatureStep do (names <prefix>-exec-<id>, Spark's labels,
//     env, resources and an owner reference to the driver pod), in allocation
//     batches, for a static executor count or within dynamic-allocation bounds,
//     replacing executors that are lost;
//   - runs a seeded workload model (jobs of stages of tasks, task slots from
//     executor cores, shuffle bytes written and read), with time scaled so an
//     application runs in tens of seconds;
//   - migrates the shuffle blocks of an executor that is deleted gracefully with
//     decommissioning on, and recomputes the map outputs of an executor that is
//     lost without it, counting both;
//   - writes a Spark event log that Spark's History Server and sparkplane's
//     advisor read;
//   - ends the driver pod Succeeded or Failed with a status patch.
//
// The emulator talks to the API server only, through client-go, like a real
// driver: it never imports sparkplane's operator or submission code. Pure parts
// (spark.properties parsing, conf and template resolution, executor pod
// construction, the workload model and scheduler, event-log encoding) take
// values and return values; the Emulator type owns all I/O.
package emulator
