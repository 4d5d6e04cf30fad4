/**
 * The tenant's integrations through Hatchet's REST API: Amazon SNS topics whose notifications
 * Hatchet ingests as events, and the Slack webhooks alerts go to.
 *
 * | operation | route |
 * |---|---|
 * | `createSns`, `listSns` | `POST`, `GET /api/v1/tenants/{tenant}/sns` |
 * | `deleteSns` | `DELETE /api/v1/sns/{sns}` |
 * | `listSlack` | `GET /api/v1/tenants/{tenant}/slack` |
 * | `deleteSlack` | `DELETE /api/v1/slack/{slack}` |
 *
 * A Slack webhook is made only by Slack's OAuth flow in Hatchet's dashboard, so there is no
 * `createSlack`. Hatchet refuses an empty topic ARN, or one over 256 characters, with a 400
 * `RestError` naming `topicarn`. The local engine keeps SNS integrations and answers them as
 * Hatchet does, but receives no notifications and never has a Slack webhook.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { RestError } from "./HatchetError.js"
import { optionalField as optional, ResourceMetadata } from "./internal/rest.js"
import { RestClient } from "./RestClient.js"

/**
 * `SNSIntegration`: an SNS topic whose notifications Hatchet ingests at `ingestUrl`.
 *
 * @since 0.1.0
 * @category models
 */
export const SnsIntegration = Schema.Struct({
  metadata: ResourceMetadata,
  tenantId: Schema.String,
  /** The topic's Amazon Resource Name. */
  topicArn: Schema.String,
  /** Where the topic's subscription sends its notifications. */
  ingestUrl: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface SnsIntegration extends Schema.Schema.Type<typeof SnsIntegration> {}

/**
 * `SlackWebhook`: a Slack channel alerts go to.
 *
 * @since 0.1.0
 * @category models
 */
export const SlackWebhook = Schema.Struct({
  metadata: ResourceMetadata,
  tenantId: Schema.String,
  teamName: Schema.String,
  teamId: Schema.String,
  channelName: Schema.String,
  channelId: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export interface SlackWebhook extends Schema.Schema.Type<typeof SlackWebhook> {}

/**
 * @since 0.1.0
 * @category models
 */
export interface IntegrationsShape {
  readonly createSns: (topicArn: string) => Effect.Effect<SnsIntegration, RestError>
  /** Oldest first. */
  readonly listSns: () => Effect.Effect<ReadonlyArray<SnsIntegration>, RestError>
  readonly deleteSns: (id: string) => Effect.Effect<void, RestError>
  readonly listSlack: () => Effect.Effect<ReadonlyArray<SlackWebhook>, RestError>
  readonly deleteSlack: (id: string) => Effect.Effect<void, RestError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Integrations extends Context.Tag("@effect-hatchet/sdk/Integrations")<Integrations, IntegrationsShape>() {}

const SnsList = Schema.Struct({ rows: Schema.Array(SnsIntegration) })
const SlackList = Schema.Struct({ rows: Schema.Array(SlackWebhook) })

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<IntegrationsShape, never, RestClient> = Effect.map(RestClient, (rest) => {
  const tenant = `/api/v1/tenants/${encodeURIComponent(rest.tenantId)}`
  return {
    createSns: (topicArn) => rest.post(`${tenant}/sns`, SnsIntegration, { body: { topicArn } }),
    listSns: () => Effect.map(rest.get(`${tenant}/sns`, SnsList), (list) => list.rows),
    deleteSns: (id) => rest.del(`/api/v1/sns/${encodeURIComponent(id)}`, Schema.Void),
    listSlack: () => Effect.map(rest.get(`${tenant}/slack`, SlackList), (list) => list.rows),
    deleteSlack: (id) => rest.del(`/api/v1/slack/${encodeURIComponent(id)}`, Schema.Void)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Integrations, never, RestClient> = Layer.effect(Integrations, make)
