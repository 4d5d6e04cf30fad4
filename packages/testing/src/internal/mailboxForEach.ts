/**
 * A mailbox drained in the caller's fiber: each message handed to `f` in order, what arrived
 * together handled together, until the mailbox ends (with its end: done, or its failure). What a
 * fake `Dispatcher.listenForEach` does over the mailbox its `listen` streams.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Mailbox from "effect/Mailbox"

/** Hands each message of `mailbox` to `f` until it ends. */
export const mailboxForEach = <A, E>(
  mailbox: Mailbox.ReadonlyMailbox<A, E>,
  f: (a: A) => Effect.Effect<void>
): Effect.Effect<void, E> => {
  const loop: Effect.Effect<void, E> = Effect.flatMap(
    mailbox.takeAll,
    ([messages, done]) => Effect.zipRight(Effect.forEach(messages, f, { discard: true }), done ? mailbox.await : loop)
  )
  return loop
}
