/**
 * The official SDK's shipped `webhooks` example against the engine: its workflows run on the
 * official worker, webhooks are made with `hatchet.webhooks`, and signed requests as GitHub,
 * Stripe and Slack send them (and a generic one with an API key, as upstream's own test of the
 * example) are turned into events whose keys come from CEL over the body and headers, each
 * running the example's task for that key with the body as its input.
 */
import { expect, layer } from "@effect/vitest"
import type * as ExampleModule from "@hatchet-dev/typescript-sdk/v1/examples/webhooks/workflow.js"
import { Effect } from "effect"
import { createHmac } from "node:crypto"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Example = typeof ExampleModule
type Client = Official.Client

const post = (url: string, body: string, headers: Record<string, string>) =>
  Effect.promise(async () => {
    const response = await fetch(url, { method: "POST", body, headers })
    const text = await response.text()
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) as any }
  })

/** The output of the run the webhook's event started (its single task's output). */
const outputOf = (hatchet: Client, eventId: string) =>
  Official.eventually(async () => {
    const runs = await hatchet.runs.list({ triggeringEventExternalId: eventId })
    const run = runs.rows?.[0]
    return run?.status === "COMPLETED" ? { output: run.output, metadata: run.additionalMetadata } : undefined
  }, 10_000)

const hmac = (algorithm: string, secret: string, payload: string) => createHmac(algorithm, secret).update(payload).digest("hex")

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: the webhooks example", (it) => {
  it.scoped("generic, GitHub, Stripe and Slack webhooks run the example's tasks; the webhooks client manages them", () =>
    Effect.gen(function*() {
      const example = yield* Examples.load<Example>("webhooks/workflow")
      const { engine, hatchet } = yield* Examples.worker("webhook-worker", [
        example.webhookWorkflow,
        example.handleStripePayment,
        example.handleGitHubPR,
        example.handleSlackMention,
        example.handleSlackCommand,
        example.handleSlackInteraction
      ], { slots: 10 })
      const url = (name: string) => `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/webhooks/${name}`

      // upstream's test: a generic webhook with an API key; the key is 'webhook:' + input.type
      const generic = yield* Effect.promise(() =>
        hatchet.webhooks.create({
          sourceName: "GENERIC" as never,
          name: "test-webhook-e2e",
          eventKeyExpression: "'webhook:' + input.type",
          auth: { headerName: "X-API-Key", apiKey: "test_api_key_123" }
        })
      )
      expect(generic).toMatchObject({
        name: "test-webhook-e2e",
        sourceName: "GENERIC",
        authType: "API_KEY",
        eventKeyExpression: "'webhook:' + input.type",
        returnEventAsResponsePayload: true,
        tenantId: engine.tenantId,
        metadata: { id: "00000000-0000-0000-0000-000000000000" }
      })
      expect(JSON.stringify(generic)).not.toContain("test_api_key_123")
      const payload = { type: "test", message: "Hello, world!" }
      const refused = yield* post(url("test-webhook-e2e"), JSON.stringify(payload), { "x-api-key": "wrong" })
      expect(refused).toEqual({ status: 403, body: { errors: [{ description: "invalid api key: X-API-Key" }] } })
      const received = yield* post(url("test-webhook-e2e"), JSON.stringify(payload), { "X-API-Key": "test_api_key_123" })
      expect(received.status).toBe(200)
      expect(received.body).toMatchObject({ message: "ok", event: { key: "webhook:test", tenantId: engine.tenantId, payload } })
      const run = yield* outputOf(hatchet, received.body.event.metadata.id)
      expect(run!.output).toEqual(payload)
      expect(run!.metadata).toMatchObject({ hatchet__event_key: "webhook:test" })
      const listedEvent = yield* Effect.promise(() => hatchet.events.list({ eventIds: [received.body.event.metadata.id] }))
      expect(listedEvent.rows?.[0]?.triggeringWebhookName).toBe("test-webhook-e2e")

      // GitHub: HMAC-SHA256 of the body in X-Hub-Signature-256 ("sha256=" prefix), the event in a header
      yield* Effect.promise(() =>
        hatchet.webhooks.create({
          sourceName: "GITHUB" as never,
          name: "github",
          eventKeyExpression: "'github:' + headers['x-github-event'] + ':' + input.action",
          auth: {
            algorithm: "SHA256" as never,
            encoding: "HEX" as never,
            signatureHeaderName: "X-Hub-Signature-256",
            signingSecret: "gh-secret"
          }
        })
      )
      const pr = JSON.stringify({ action: "opened", repository: { full_name: "acme/app" }, pull_request: { number: 42, title: "Fix" } })
      const github = yield* post(url("github"), pr, {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-hub-signature-256": `sha256=${hmac("sha256", "gh-secret", pr)}`
      })
      expect(github.body.event.key).toBe("github:pull_request:opened")
      expect((yield* outputOf(hatchet, github.body.event.metadata.id))!.output).toEqual({ repo: "acme/app", pr: 42 })

      // Stripe: "t=<ts>,v1=<hmac of '<ts>.<body>'>" in Stripe-Signature
      yield* Effect.promise(() =>
        hatchet.webhooks.create({
          sourceName: "STRIPE" as never,
          name: "stripe",
          eventKeyExpression: "'stripe:' + input.type",
          auth: {
            algorithm: "SHA256" as never,
            encoding: "HEX" as never,
            signatureHeaderName: "Stripe-Signature",
            signingSecret: "whsec_stripe"
          }
        })
      )
      const intent = JSON.stringify({ type: "payment_intent.succeeded", data: { object: { customer: "cus_1", amount: 1200 } } })
      const t = Math.floor(Date.now() / 1000)
      const stripe = yield* post(url("stripe"), intent, {
        "stripe-signature": `t=${t},v1=${hmac("sha256", "whsec_stripe", `${t}.${intent}`)}`
      })
      expect((yield* outputOf(hatchet, stripe.body.event.metadata.id))!.output).toEqual({ customer: "cus_1", amount: 1200 })
      const stale = yield* post(url("stripe"), intent, {
        "stripe-signature": `t=${t - 3600},v1=${hmac("sha256", "whsec_stripe", `${t - 3600}.${intent}`)}`
      })
      expect(stale).toEqual({ status: 400, body: { errors: [{ description: "timestamp in signature header is out of range" }] } })

      // Slack: the URL verification challenge, then events, slash commands and interactions
      yield* Effect.promise(() =>
        hatchet.webhooks.create({
          sourceName: "SLACK" as never,
          name: "slack",
          eventKeyExpression:
            "has(input.event) ? 'slack:event:' + input.event.type : has(input.command) ? 'slack:command:' + input.command : 'slack:interaction:' + input.type",
          auth: {
            algorithm: "SHA256" as never,
            encoding: "HEX" as never,
            signatureHeaderName: "X-Slack-Signature",
            signingSecret: "slack-secret"
          }
        })
      )
      expect(yield* post(url("slack"), JSON.stringify({ type: "url_verification", challenge: "abc" }), {})).toEqual({
        status: 200,
        body: { challenge: "abc" }
      })
      const slack = (body: string, contentType: string) => {
        const ts = Math.floor(Date.now() / 1000)
        return post(url("slack"), body, {
          "content-type": contentType,
          "x-slack-request-timestamp": String(ts),
          "x-slack-signature": `v0=${hmac("sha256", "slack-secret", `v0:${ts}:${body}`)}`
        })
      }
      const mention = yield* slack(
        JSON.stringify({ event: { type: "app_mention", user: "U1", text: "hi", channel: "C1" } }),
        "application/json"
      )
      expect((yield* outputOf(hatchet, mention.body.event.metadata.id))!.output).toEqual({ handled: true })
      const command = yield* slack("command=%2Fdeploy&text=prod&user_name=ana", "application/x-www-form-urlencoded")
      expect(command.body.event.key).toBe("slack:command:/deploy")
      expect((yield* outputOf(hatchet, command.body.event.metadata.id))!.output).toEqual({ command: "/deploy", args: "prod" })
      const interaction = JSON.stringify({ type: "block_actions", user: { username: "ana" }, actions: [{ action_id: "approve" }] })
      const clicked = yield* slack(`payload=${encodeURIComponent(interaction)}`, "application/x-www-form-urlencoded")
      expect((yield* outputOf(hatchet, clicked.body.event.metadata.id))!.output).toEqual({ action: "approve" })

      // the webhooks client: list, get, update, delete
      const all = yield* Effect.promise(() => hatchet.webhooks.list())
      expect(all.rows?.map((w) => w.name)).toEqual(["slack", "stripe", "github", "test-webhook-e2e"])
      const slackOnly = yield* Effect.promise(() => hatchet.webhooks.list({ sourceNames: ["SLACK" as never] }))
      expect(slackOnly.rows?.map((w) => w.name)).toEqual(["slack"])
      expect((yield* Effect.promise(() => hatchet.webhooks.get("github"))).authType).toBe("HMAC")
      const updated = yield* Effect.promise(() =>
        hatchet.webhooks.update("test-webhook-e2e", { eventKeyExpression: "'webhook:' + input.kind", staticPayload: { type: "static" } })
      )
      expect(updated).toMatchObject({ eventKeyExpression: "'webhook:' + input.kind", staticPayload: { type: "static" } })
      const withStatic = yield* post(url("test-webhook-e2e"), JSON.stringify({ kind: "test", type: "overridden" }), {
        "x-api-key": "test_api_key_123"
      })
      expect(withStatic.body.event).toMatchObject({ key: "webhook:test", payload: { kind: "test", type: "static" } })
      yield* Effect.promise(() => hatchet.webhooks.delete("github"))
      expect((yield* post(url("github"), pr, {})).status).toBe(404)
    }))
})
