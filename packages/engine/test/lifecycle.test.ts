/**
 * Lifecycle: streams end when the client cancels (the session is released) and when the engine's
 * scope closes (nothing hangs); tokens are verified claim by claim.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { Status } from "nice-grpc"
import * as Engine from "../src/Engine.js"
import * as Token from "../src/internal/auth/token.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"
import { eventually } from "./support/official.js"

describe("stream lifecycle", () => {
  it.live("a client cancelling ListenV2 releases the session: the next heartbeat is rejected", () =>
    Effect.scoped(Effect.gen(function*() {
      const engine = yield* Engine.make()
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      const { workerId } = yield* Effect.promise(() => c.dispatcher.register({ workerName: "w", actions: ["a:b"] }))
      const controller = new AbortController()
      const outcome = yield* Effect.fork(
        Grpc.streamOutcome(c.dispatcher.listenV2({ workerId }, { signal: controller.signal })).pipe(
          Effect.catchAllDefect(() => Effect.succeed("aborted" as const))
        )
      )
      yield* eventually(() => c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }).then(() => true, () => undefined))
      controller.abort()
      yield* outcome.await
      const status = yield* eventually(() =>
        c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }).then(() => undefined, (e: { code: Status }) => e.code)
      )
      expect(status).toBe(Status.FAILED_PRECONDITION)
    })), 30_000)

  it.live("closing the engine's scope ends open streams and stops both servers", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(InternalEngine.layer(), scope)
      const engine = Context.get(context, Engine.Engine)
      const outcomes = yield* Effect.scoped(Effect.gen(function*() {
        const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
        const { workerId } = yield* Effect.promise(() => c.dispatcher.register({ workerName: "w", actions: ["a:b"] }))
        yield* Effect.promise(() =>
          c.admin.putWorkflow({ name: "s", tasks: [{ readableId: "t", action: "s:t", timeout: "60s", inputs: "{}" }] })
        )
        const { workflowRunId } = yield* Effect.promise(() => c.workflows.triggerWorkflow({ name: "s", input: "{}" }))
        const listen = yield* Effect.fork(Grpc.streamOutcome(c.dispatcher.listenV2({ workerId })))
        const events = yield* Effect.fork(Grpc.streamOutcome(c.dispatcher.subscribeToWorkflowEvents({ workflowRunId })))
        yield* Effect.sleep("200 millis")
        yield* Scope.close(scope, Exit.void).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("close hung") }))
        return yield* Effect.all([listen.await, events.await]).pipe(
          Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("streams hung") })
        )
      }))
      for (const outcome of outcomes) expect(Exit.isSuccess(outcome)).toBe(true)
      const refused = yield* Effect.promise(() =>
        fetch(`${engine.apiUrl}/api/v1/tenants/${engine.tenantId}`).then(() => "answered", () => "refused")
      )
      expect(refused).toBe("refused")
    }), 30_000)
})

describe("tokens", () => {
  const issuer: Token.TokenIssuer = {
    secret: Buffer.from("s3cret"),
    serverUrl: "http://127.0.0.1:8080",
    grpcBroadcastAddress: "127.0.0.1:7070"
  }
  const tenantId = "707d0855-80ab-4e1f-a156-f1c4546cbf52"

  it("carries upstream's claims and verifies each of them", () => {
    const now = 1_700_000_000_000
    const token = Token.mint(issuer, { tenantId, now })
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString())
    expect(claims).toMatchObject({
      sub: tenantId,
      iss: issuer.serverUrl,
      aud: issuer.serverUrl,
      iat: 1_700_000_000,
      exp: 1_700_000_000 + 90 * 24 * 3600,
      server_url: issuer.serverUrl,
      grpc_broadcast_address: issuer.grpcBroadcastAddress
    })
    expect(claims.token_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" })
    expect(Token.verify(issuer, token, now)).toBe(tenantId)
    expect(Token.verify({ ...issuer, secret: Buffer.from("other") }, token, now)).toBeUndefined()
    expect(Token.verify({ ...issuer, serverUrl: "http://elsewhere" }, token, now)).toBeUndefined()
    expect(Token.verify(issuer, token, now + 91 * 24 * 3600 * 1000)).toBeUndefined()
    // another first signature character: every bit of it counts (the last one carries 2 unused
    // bits, so replacing it with "x" kept a token ending in w, x, y or z valid: a flaky 1-in-16)
    const at = token.lastIndexOf(".") + 1
    const tampered = token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1)
    expect(Token.verify(issuer, tampered, now)).toBeUndefined()
    expect(Token.verify(issuer, "a.b", now)).toBeUndefined()
    // padding, stray characters and a changed unused bit: upstream's strict decoding refuses them
    expect(Token.verify(issuer, `${token}=`, now)).toBeUndefined()
    expect(Token.verify(issuer, `${token}==`, now)).toBeUndefined()
    expect(Token.verify(issuer, token.replace(".", ".="), now)).toBeUndefined()
    expect(Token.verify(issuer, `${token.slice(0, at)}+${token.slice(at)}`, now)).toBeUndefined()
    const last = token[token.length - 1]!
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    const sameBits = alphabet[alphabet.indexOf(last) ^ 1]! // a 32-byte signature leaves 2 unused bits
    expect(Token.verify(issuer, token.slice(0, -1) + sameBits, now)).toBeUndefined()
  })

  it("reads the bearer scheme case-insensitively", () => {
    expect(Token.bearerToken("bearer abc")).toBe("abc")
    expect(Token.bearerToken("BEARER abc")).toBe("abc")
    expect(Token.bearerToken("Basic abc")).toBeUndefined()
    expect(Token.bearerToken("bearer")).toBeUndefined()
    expect(Token.bearerToken(undefined)).toBeUndefined()
  })
})
