// Preloaded (`node --import`) into the official opentelemetry_instrumentation example's scripts,
// before the example runs:
// - what an application's OTel setup provides and the example's `initOtel()` does not register: a
//   context manager (here on AsyncLocalStorage), so that a span started inside another is its
//   child, and the W3C trace-context propagator, so that the instrumentor's traceparent travels
//   with the run. Without them every span is a trace of its own.
// - the example's own `initOtel()`, called before the example loads the SDK: as shipped, its
//   scripts load the SDK (`../hatchet-client`) first, so the HatchetInstrumentor's module hooks
//   never see the SDK's modules and it produces none of its spans (step runs, run_workflow) nor
//   hatchet.* attributes. The example's own later call registers nothing more: the modules are
//   loaded by then, and sdk-trace-base 2's provider takes no second span processor (the
//   instrumentor catches that).
import setup from "@hatchet-dev/typescript-sdk/v1/examples/opentelemetry_instrumentation/setup.js"
import { context, propagation, ROOT_CONTEXT } from "@opentelemetry/api"
import { W3CTraceContextPropagator } from "@opentelemetry/core"
import { AsyncLocalStorage } from "node:async_hooks"

const storage = new AsyncLocalStorage()
context.setGlobalContextManager({
  active: () => storage.getStore() ?? ROOT_CONTEXT,
  with: (active, fn, thisArg, ...args) => storage.run(active, () => fn.apply(thisArg, args)),
  bind: (bound, target) =>
    typeof target === "function"
      ? function(...args) {
        return storage.run(bound, () => target.apply(this, args))
      }
      : target,
  enable() {
    return this
  },
  disable() {
    storage.disable()
    return this
  }
})
propagation.setGlobalPropagator(new W3CTraceContextPropagator())
setup.initOtel()
