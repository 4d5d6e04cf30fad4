/**
 * A tenant's SNS and Slack integrations over REST (upstream
 * `api/v1/server/handlers/ingestors/sns_{create,list,delete}.go`,
 * `handlers/slack-app/slack_{list,delete}.go`, the `sns` and `slack` getters of
 * `api/v1/server/run/run.go`, `ToSNSIntegration`, `api-contracts/openapi/paths/ingestors`,
 * `paths/slack`; the records are `domain/integrations.ts`'s):
 *
 * - `POST /api/v1/tenants/{tenant}/sns` (`{topicArn}` → 201 `SNSIntegration` with its
 *   `ingestUrl`, `<server URL>/api/v1/sns/<tenant>/sns-event`): an empty ARN is 400 `APIErrors`
 *   "on condition 'required'", one over 256 characters "on condition 'max' [ 256 ]: got '…'"
 *   (field `topicarn`); one of 256 characters fails the repository's `max=255`, and a topic the
 *   tenant already has its insert, both echo's 500;
 * - `GET /api/v1/tenants/{tenant}/sns` (`{pagination: {}, rows}`, oldest first);
 * - `DELETE /api/v1/sns/{sns}` (204): 400 "invalid sns integration id", 404 "not found" (before
 *   the token), another tenant's 403;
 * - `GET /api/v1/tenants/{tenant}/slack` (`{pagination: {}, rows: []}`) and `DELETE
 *   /api/v1/slack/{slack}` (400 "invalid slack integration id", else 404): a Slack webhook is made
 *   only by Slack's OAuth flow (`/api/v1/tenants/{tenant}/slack/start`, a dashboard user's), which
 *   the local engine does not serve, so there never is one.
 *
 * The local engine does not receive SNS notifications (the ingest URL is not served) and sends
 * nothing to Slack.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { EngineAuth } from "../../auth/EngineAuth.js"
import { Go } from "../../domain/goJson.js"
import * as Integrations from "../../domain/integrations.js"
import { tenantOf } from "../../domain/tenants.js"
import { FieldErrors } from "../../domain/validation.js"
import { decodeBody, internalServerError, json, lookupWith, resourceRoute, RestError, runDomain, tenantRoute } from "../rest.js"
import * as Views from "../views.js"

/** `SNSIntegration` (`ToSNSIntegration`). */
const snsView = (serverUrl: string, sns: Integrations.SnsIntegration) => ({
  ingestUrl: `${serverUrl}/api/v1/sns/${sns.tenantId}/sns-event`,
  metadata: Views.resourceMeta(sns.id, sns.createdAt, sns.updatedAt),
  tenantId: sns.tenantId,
  topicArn: sns.topicArn
})

/** The request's `validate:"required,min=1,max=256"` on `topicArn`: upstream's `APIErrors`, or undefined. */
const topicArnProblem = (topicArn: string): RestError | undefined => {
  const namespace = "CreateSNSIntegrationRequest.TopicArn"
  const errors = new FieldErrors()
  if (topicArn === "") errors.condition(namespace, "required")
  else if ([...topicArn].length > 256) errors.condition(namespace, "max", "256", { _tag: "string", value: topicArn })
  return errors.isEmpty
    ? undefined
    : new RestError({ status: 400, body: { errors: [{ description: errors.errors[0]!, field: "topicarn" }] } })
}

export const routes = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/api/v1/tenants/:tenant/sns",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          Schema.Struct({ topicArn: Schema.String }),
          Go.struct("gen.CreateSNSIntegrationRequest", { topicArn: Go.string })
        )
        const problem = topicArnProblem(body.topicArn)
        if (problem !== undefined) return yield* problem
        // the repository's max=255
        if ([...body.topicArn].length > 255) return yield* internalServerError()
        const created = yield* runDomain((state, now) => Integrations.createSns(tenantOf(state, tenantId), body.topicArn, now))
        if (created === undefined) return yield* internalServerError()
        const auth = yield* EngineAuth
        return json(snsView(auth.serverUrl(), created), 201)
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/tenants/:tenant/sns",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const rows = yield* runDomain((state) => Integrations.listSns(tenantOf(state, tenantId)))
        const auth = yield* EngineAuth
        return json({ pagination: {}, rows: rows.map((sns) => snsView(auth.serverUrl(), sns)) })
      })
    )
  ),
  HttpRouter.del(
    "/api/v1/sns/:sns",
    resourceRoute("sns", "invalid sns integration id", lookupWith(Integrations.findSns), (sns, tenantId) =>
      Effect.as(
        runDomain((state) => Integrations.deleteSns(tenantOf(state, tenantId), sns.id)),
        HttpServerResponse.empty({ status: 204 })
      ))
  ),
  HttpRouter.get("/api/v1/tenants/:tenant/slack", tenantRoute(() => Effect.succeed(json({ pagination: {}, rows: [] })))),
  HttpRouter.del(
    "/api/v1/slack/:slack",
    resourceRoute("slack", "invalid slack integration id", () => Effect.succeed(undefined), () => internalServerError())
  )
)
