/**
 * The tenant's integrations end to end with the `Integrations` service on the local engine: an SNS
 * topic created (its ingest URL on the engine's server URL), listed, refused when Hatchet refuses
 * it (an empty ARN, a duplicate), deleted; no Slack webhook, and deleting one is Hatchet's 404.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Integrations from "../src/Integrations.js"
import { engineWithClient } from "./support/engine.js"

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("integrations end to end", (it) => {
  it.scoped("SNS topics: create, list, refuse, delete", () =>
    Effect.gen(function*() {
      const integrations = yield* Integrations.Integrations
      const arn = "arn:aws:sns:eu-west-1:123456789012:orders"
      const created = yield* integrations.createSns(arn)
      expect(created.topicArn).toBe(arn)
      expect(created.ingestUrl).toMatch(new RegExp(`^http://[^/]+/api/v1/sns/${created.tenantId}/sns-event$`))
      expect(created.metadata.createdAt).toBeInstanceOf(Date)
      const other = yield* integrations.createSns(`${arn}-returns`)
      expect(yield* integrations.listSns()).toEqual([created, other])

      const empty = yield* Effect.flip(integrations.createSns(""))
      expect(empty).toMatchObject({ _tag: "RestError", status: 400 })
      expect(empty.body).toContain("topicarn")
      // the same topic twice fails the repository's unique index: echo's 500
      expect(yield* Effect.flip(integrations.createSns(arn))).toMatchObject({ status: 500 })

      yield* integrations.deleteSns(created.metadata.id)
      expect(yield* integrations.listSns()).toEqual([other])
      expect(yield* Effect.flip(integrations.deleteSns(created.metadata.id))).toMatchObject({ status: 404 })
      expect(yield* Effect.flip(integrations.deleteSns("not-a-uuid"))).toMatchObject({ status: 400 })
    }))

  it.scoped("Slack: none without the dashboard's OAuth flow", () =>
    Effect.gen(function*() {
      const integrations = yield* Integrations.Integrations
      expect(yield* integrations.listSlack()).toEqual([])
      expect(yield* Effect.flip(integrations.deleteSlack(crypto.randomUUID()))).toMatchObject({ status: 404 })
    }))
})
