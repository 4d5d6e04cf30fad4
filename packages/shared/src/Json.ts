/**
 * JSON values as the SDK and the local engine read them: what `JSON.parse` gives, read-only.
 *
 * @since 0.1.0
 */

/**
 * A parsed JSON value.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonValue = null | boolean | number | string | ReadonlyArray<JsonValue> | { readonly [k: string]: JsonValue }

/**
 * A parsed JSON object.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonObject = { readonly [k: string]: JsonValue }
