/**
 * TLS and mTLS handshakes against a loopback server, with a CA and certificates generated here
 * (Node crypto through `selfsigned`; no openssl binary needed).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ServerCredentials } from "@grpc/grpc-js"
import { Effect, Layer } from "effect"
import { Status } from "nice-grpc"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import selfsigned from "selfsigned"
import * as GrpcTransport from "../src/GrpcTransport.js"
import type * as HatchetConfig from "../src/HatchetConfig.js"
import { transportLayer } from "./support/clientLayer.js"
import { loopbackServer } from "./support/grpcServer.js"

interface Pem {
  readonly cert: string
  readonly key: string
}

const ec = { keyType: "ec", curve: "P-256", algorithm: "sha256" } as const

const makeCa = async (cn: string): Promise<Pem> => {
  const ca = await selfsigned.generate([{ name: "commonName", value: cn }], {
    ...ec,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
    ]
  })
  return { cert: ca.cert, key: ca.private }
}

const makeLeaf = async (ca: Pem, cn: string, usage: "serverAuth" | "clientAuth"): Promise<Pem> => {
  const leaf = await selfsigned.generate([{ name: "commonName", value: cn }], {
    ...ec,
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", [usage]: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }
    ]
  })
  return { cert: leaf.cert, key: leaf.private }
}

let dir = ""
const files = {
  ca: "",
  otherCa: "",
  clientCert: "",
  clientKey: "",
  garbage: ""
}
let server: Pem
let ca: Pem

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "hatchet-tls-"))
  ca = await makeCa("effect-hatchet test CA")
  const otherCa = await makeCa("some other CA")
  server = await makeLeaf(ca, "localhost", "serverAuth")
  const client = await makeLeaf(ca, "worker", "clientAuth")
  const write = (name: string, content: string) => {
    const file = path.join(dir, name)
    fs.writeFileSync(file, content)
    return file
  }
  files.ca = write("ca.pem", ca.cert)
  files.otherCa = write("other-ca.pem", otherCa.cert)
  files.clientCert = write("client.pem", client.cert)
  files.clientKey = write("client-key.pem", client.key)
  files.garbage = write("garbage.pem", "this is not PEM")
}, 60_000)

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const serverCredentials = (requireClientCertificate: boolean) =>
  ServerCredentials.createSsl(
    Buffer.from(ca.cert),
    [{ private_key: Buffer.from(server.key), cert_chain: Buffer.from(server.cert) }],
    requireClientCertificate
  )

const getVersion = (hostPort: string, options: HatchetConfig.Options) =>
  Effect.flatMap(GrpcTransport.GrpcTransport, (t) => GrpcTransport.unary("/Dispatcher/GetVersion", (o) => t.dispatcher.getVersion({}, o)))
    .pipe(
      Effect.provide(Layer.orDie(transportLayer(hostPort, options))),
      Effect.map((r) => r.version)
    )

const implementation = { dispatcher: { getVersion: async () => ({ version: "v-tls" }) } }

describe("GrpcTransport TLS", () => {
  it.scopedLive("tls: handshake with the CA from HATCHET_CLIENT_TLS_ROOT_CA_FILE and the server name", () =>
    Effect.gen(function*() {
      const { hostPort } = yield* loopbackServer(implementation, { credentials: serverCredentials(false) })
      const version = yield* getVersion(hostPort, { tlsStrategy: "tls", tlsRootCaFile: files.ca, tlsServerName: "localhost" })
      expect(version).toBe("v-tls")
    }))

  it.scopedLive("mtls: handshake with a client certificate the server requires", () =>
    Effect.gen(function*() {
      const { hostPort } = yield* loopbackServer(implementation, { credentials: serverCredentials(true) })
      const version = yield* getVersion(hostPort, {
        tlsStrategy: "mtls",
        tlsRootCaFile: files.ca,
        tlsCertFile: files.clientCert,
        tlsKeyFile: files.clientKey,
        tlsServerName: "localhost"
      })
      expect(version).toBe("v-tls")
    }))

  it.scopedLive("mtls server, no client certificate: the call fails UNAVAILABLE", () =>
    Effect.gen(function*() {
      const { hostPort } = yield* loopbackServer(implementation, { credentials: serverCredentials(true) })
      const error = yield* getVersion(hostPort, { tlsStrategy: "tls", tlsRootCaFile: files.ca, tlsServerName: "localhost" })
        .pipe(Effect.flip)
      expect([error._tag, error.status, error.method]).toEqual(["GrpcError", "UNAVAILABLE", "/Dispatcher/GetVersion"])
    }))

  it.scopedLive("a wrong CA fails with UNAVAILABLE and the TLS reason in the details", () =>
    Effect.gen(function*() {
      const { hostPort } = yield* loopbackServer(implementation, { credentials: serverCredentials(false) })
      const error = yield* getVersion(hostPort, { tlsStrategy: "tls", tlsRootCaFile: files.otherCa, tlsServerName: "localhost" })
        .pipe(Effect.flip)
      expect(error.code).toBe(Status.UNAVAILABLE)
      expect(error.method).toBe("/Dispatcher/GetVersion")
      expect(error.details).toMatch(/certificate/i)
      expect(error.message).toContain("UNAVAILABLE")
    }))

  it.scopedLive("a server name the certificate does not cover fails with UNAVAILABLE", () =>
    Effect.gen(function*() {
      const { hostPort } = yield* loopbackServer(implementation, { credentials: serverCredentials(false) })
      const error = yield* getVersion(hostPort, { tlsStrategy: "tls", tlsRootCaFile: files.ca, tlsServerName: "engine.example.com" })
        .pipe(Effect.flip)
      expect(error.code).toBe(Status.UNAVAILABLE)
      expect(error.details).toMatch(/engine\.example\.com|altnames|hostname/i)
    }))

  it.scoped("a file that is not PEM fails the layer with InvalidTlsFile, naming the file", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(
        transportLayer("127.0.0.1:1", { tlsStrategy: "tls", tlsRootCaFile: files.garbage })
      ).pipe(Effect.flip)
      expect(error._tag).toBe("HatchetConfigError")
      if (error._tag !== "HatchetConfigError") return
      expect(error.reason).toBe("InvalidTlsFile")
      expect(error.message).toContain(files.garbage)
    }))

  it.scoped("a client key that is not PEM fails the layer with InvalidTlsFile", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(
        transportLayer("127.0.0.1:1", {
          tlsStrategy: "mtls",
          tlsRootCaFile: files.ca,
          tlsCertFile: files.clientCert,
          tlsKeyFile: files.garbage
        })
      ).pipe(Effect.flip)
      expect(error._tag === "HatchetConfigError" && error.reason).toBe("InvalidTlsFile")
      expect(error.message).toContain(files.garbage)
    }))
})
