/**
 * Incoming webhooks end to end with our worker and client on the local engine: a webhook made
 * with the `Webhooks` service turns signed requests into events that run our task with the
 * request's body as its typed input; its scope expression routes the event through a filter;
 * `EventHistory` shows which webhook made each event; update, list and delete; secrets stay
 * redacted and bad requests are refused before sending.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Redacted, Schema } from "effect"
import { createHmac } from "node:crypto"
import * as EventHistory from "../src/EventHistory.js"
import * as Task from "../src/Task.js"
import * as TaskContext from "../src/TaskContext.js"
import * as Webhooks from "../src/Webhooks.js"
import { engineWithClient, pollUntil, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

const PullRequest = Schema.Struct({
  action: Schema.String,
  repository: Schema.Struct({ full_name: Schema.String }),
  pull_request: Schema.Struct({ number: Schema.Number })
})

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("incoming webhooks end to end", (it) => {
  it.scoped("a GitHub webhook's signed request runs the task listening to its key, scoped through a filter", () =>
    Effect.gen(function*() {
      const webhooks = yield* Webhooks.Webhooks
      const history = yield* EventHistory.EventHistory
      const name = unique("github")
      const key = unique("github-pr")
      const seen: Array<{ readonly repo: string; readonly filter: unknown }> = []
      const OnPr = Task.make(unique("on-pr"), {
        input: PullRequest,
        output: Schema.Struct({ repo: Schema.String, pr: Schema.Number }),
        onEvents: [`${key}:opened`],
        defaultFilters: [{ scope: "acme/app", expression: "true", payload: { team: "app" } }]
      })
      yield* startWorker(OnPr.toLayer((input) =>
        Effect.map(TaskContext.TaskContext, (ctx) => {
          seen.push({ repo: input.repository.full_name, filter: Option.getOrNull(ctx.filterPayload) })
          return { repo: input.repository.full_name, pr: input.pull_request.number }
        })
      ))
      const created = yield* webhooks.create({
        name,
        source: "GITHUB",
        eventKeyExpression: `'${key}:' + input.action`,
        scopeExpression: "input.repository.full_name",
        auth: {
          _tag: "Hmac",
          algorithm: "SHA256",
          encoding: "HEX",
          signatureHeaderName: "X-Hub-Signature-256",
          signingSecret: Redacted.make("gh-secret")
        }
      })
      expect(created).toMatchObject({ name, sourceName: "GITHUB", authType: "HMAC", scopeExpression: "input.repository.full_name" })

      const send = (repo: string, secret: string) =>
        Effect.gen(function*() {
          const body = JSON.stringify({ action: "opened", repository: { full_name: repo }, pull_request: { number: 7 } })
          const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`
          const response = yield* HttpClient.execute(
            HttpClientRequest.post(webhooks.url(name)).pipe(
              HttpClientRequest.setHeader("x-hub-signature-256", signature),
              HttpClientRequest.bodyText(body, "application/json")
            )
          )
          return { status: response.status, body: yield* response.json }
        }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

      // a forged signature is refused
      expect((yield* send("acme/app", "wrong")).status).toBe(403)
      // in the filter's scope: the task runs with the body as its input and the filter's payload
      const accepted = yield* send("acme/app", "gh-secret")
      expect(accepted.status).toBe(200)
      const eventId = (accepted.body as { readonly event: { readonly metadata: { readonly id: string } } }).event.metadata.id
      const event = yield* pollUntil(history.get(eventId), (e) => e.workflowRunSummary.succeeded === 1)
      expect(event).toMatchObject({ key: `${key}:opened`, scope: "acme/app", triggeringWebhookName: name })
      expect(seen).toEqual([{ repo: "acme/app", filter: { team: "app" } }])
      // another repository's scope has no filter: nothing runs
      const other = yield* send("acme/other", "gh-secret")
      const otherId = (other.body as { readonly event: { readonly metadata: { readonly id: string } } }).event.metadata.id
      expect((yield* history.get(otherId)).triggeredRuns).toEqual([])

      // update, list, delete
      const updated = yield* webhooks.update(name, { returnEventAsResponsePayload: false, staticPayload: { via: "hook" } })
      expect(updated).toMatchObject({ returnEventAsResponsePayload: false, staticPayload: { via: "hook" } })
      expect((yield* send("acme/app", "gh-secret")).status).toBe(204)
      expect((yield* webhooks.list({ sources: ["GITHUB"] })).map((w) => w.name)).toContain(name)
      expect((yield* webhooks.get(name)).name).toBe(name)
      yield* webhooks.delete(name)
      expect((yield* send("acme/app", "gh-secret")).status).toBe(404)
    }))

  it.scoped("requests the engine would refuse are refused before sending; secrets never show", () =>
    Effect.gen(function*() {
      const webhooks = yield* Webhooks.Webhooks
      const request: Webhooks.CreateRequest = {
        name: "",
        source: "GENERIC",
        eventKeyExpression: " ",
        scopeExpression: "",
        auth: { _tag: "ApiKey", headerName: "X-Key", apiKey: Redacted.make("top-secret") }
      }
      const error = yield* Effect.flip(webhooks.create(request))
      expect(error).toMatchObject({
        _tag: "InvalidWebhook",
        issues: [
          "name: must not be empty",
          "eventKeyExpression: must be a CEL expression",
          "scopeExpression: must not be empty (leave it out for no scope)"
        ]
      })
      expect(String(request.auth._tag === "ApiKey" && request.auth.apiKey)).not.toContain("top-secret")
      const made = yield* webhooks.create({ ...request, name: unique("generic"), eventKeyExpression: "'k'", scopeExpression: undefined })
      expect(JSON.stringify(made)).not.toContain("top-secret")
      expect((yield* Effect.flip(webhooks.update(made.name, { eventKeyExpression: "" })))._tag).toBe("InvalidWebhook")
    }))
})
