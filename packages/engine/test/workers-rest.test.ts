/**
 * The worker routes over loopback as upstream's handlers answer them: the list's filters
 * (statuses, labels, heartbeat within a day), its paging, the `Worker` views of list, get and
 * PATCH, and bad input.
 */
import { SDKS } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"
import * as Official from "./support/official.js"
import { restCall } from "./support/rest.js"

layer(InternalEngine.layer({ tenantId: "3b3b3b3b-1111-4111-8111-111111111111" }), { timeout: 60_000, excludeTestServices: true })(
  "worker routes",
  (it) => {
    it.scoped("list: heartbeating workers newest first, filtered by status and labels, paged; get and PATCH views", () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
        const name = Official.unique("workers-rest")
        const register = (suffix: string, labels: Record<string, { strValue?: string; intValue?: number }>) =>
          Effect.promise(() =>
            c.dispatcher.register({
              workerName: `${name}-${suffix}`,
              actions: [`${name}:t`],
              slotConfig: { default: 3 },
              labels,
              runtimeInfo: { sdkVersion: "9.9.9", language: SDKS.TYPESCRIPT, languageVersion: "v20", os: "linux" }
            })
          ).pipe(Effect.map((r) => r.workerId))
        const heartbeat = (workerId: string) => Effect.promise(() => c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }))
        const eu = yield* register("eu", { region: { strValue: "eu" }, tier: { intValue: 2 } })
        const us = yield* register("us", { region: { strValue: "us" } })
        const silent = yield* register("silent", {})
        yield* heartbeat(eu)
        yield* heartbeat(us)
        const base = `/api/v1/tenants/${engine.tenantId}/worker`
        const ids = (body: { rows: Array<{ metadata: { id: string } }> }) => body.rows.map((w) => w.metadata.id)

        // a worker that never sent a heartbeat is not listed, as upstream
        const all = yield* restCall(engine, "GET", base)
        expect(ids(all.body)).toEqual([us, eu])
        expect(ids(all.body)).not.toContain(silent)
        const listed = all.body.rows[1]
        expect(listed).toMatchObject({
          name: `${name}-eu`,
          type: "SELFHOSTED",
          status: "ACTIVE",
          actions: [`${name}:t`],
          slotConfig: { default: { available: 3, limit: 3 } },
          runtimeInfo: { sdkVersion: "9.9.9", language: "TYPESCRIPT", languageVersion: "v20", os: "linux", runtimeExtra: "" }
        })
        expect(listed.labels).toEqual([
          expect.objectContaining({
            key: "region",
            value: "eu",
            metadata: expect.objectContaining({ id: "00000000-0000-0000-0000-000000000000" })
          }),
          expect.objectContaining({ key: "tier", value: "2" })
        ])
        expect(listed).not.toHaveProperty("maxRuns")

        // pause: the PATCH answer is upstream's v0 view (no labels, actions null)
        const paused = yield* restCall(engine, "PATCH", `/api/v1/workers/${us}`, { isPaused: true })
        expect(paused.status).toBe(200)
        expect(paused.body).toMatchObject({ status: "PAUSED", actions: null })
        expect(paused.body).not.toHaveProperty("labels")

        expect(ids((yield* restCall(engine, "GET", `${base}?statuses=PAUSED`)).body)).toEqual([us])
        expect(ids((yield* restCall(engine, "GET", `${base}?statuses=ACTIVE&statuses=INACTIVE`)).body)).toEqual([eu])
        expect(ids((yield* restCall(engine, "GET", `${base}?labels=region:eu`)).body)).toEqual([eu])
        expect(ids((yield* restCall(engine, "GET", `${base}?labels=tier:2&labels=region:eu`)).body)).toEqual([eu])
        expect(ids((yield* restCall(engine, "GET", `${base}?labels=tier:3&labels=region:eu`)).body)).toEqual([])

        const page = yield* restCall(engine, "GET", `${base}?limit=1&offset=1`)
        expect(page.body).toMatchObject({ pagination: { num_pages: 2, current_page: 2, next_page: 2 } })
        expect(ids(page.body)).toEqual([eu])

        const one = yield* restCall(engine, "GET", `/api/v1/workers/${eu}`)
        expect(one.body).toMatchObject({ status: "ACTIVE", labels: [{ key: "region" }, { key: "tier" }], recentStepRuns: [] })

        // bad input, as upstream answers it
        expect(yield* restCall(engine, "GET", `${base}?labels=region`)).toEqual({
          status: 400,
          body: { errors: [{ description: "invalid label filter format: region, expected key:value" }] }
        })
        expect((yield* restCall(engine, "GET", `${base}?limit=abc`)).status).toBe(400)
        expect((yield* restCall(engine, "GET", `${base}?limit=-1`)).status).toBe(500)
        const wrongType = yield* restCall(engine, "PATCH", `/api/v1/workers/${us}`, { isPaused: "yes" })
        expect(wrongType.status).toBe(400)
        expect(wrongType.body.message).toBe("Unmarshal type error: expected=bool, got=string, field=isPaused, offset=17")
        expect(yield* restCall(engine, "PATCH", `/api/v1/workers/${us}`, "{not json")).toEqual({
          status: 400,
          body: { message: "Syntax error: offset=2, error=invalid character 'n' looking for beginning of object key string" }
        })
        // the worker kept its state through the bad requests
        expect((yield* restCall(engine, "GET", `/api/v1/workers/${us}`)).body.status).toBe("PAUSED")
      }))
  }
)
