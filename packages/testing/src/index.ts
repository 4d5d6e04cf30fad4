/**
 * @since 0.1.0
 */

/**
 * A scriptable fake of `Dispatcher`, `Admin` and `Events` for worker unit tests.
 *
 * @since 0.1.0
 */
export * as FakeDispatcher from "./FakeDispatcher.js"

/**
 * Run one task with an input, parent outputs and services, and no engine.
 *
 * @since 0.1.0
 */
export * as TaskTest from "./TaskTest.js"

/**
 * A fault-injecting loopback TCP proxy (freeze, thaw, reset) for chaos tests.
 *
 * @since 0.1.0
 */
export * as TcpProxy from "./TcpProxy.js"

/**
 * The local engine in-process, a worker running the given implementations and the client, as one
 * Layer for `@effect/vitest`; `settle` / `adjust` for tests under `TestClock`.
 *
 * @since 0.1.0
 */
export * as HatchetTest from "./HatchetTest.js"
