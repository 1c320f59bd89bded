/**
 * KV and object store through the official @nats-io/kv and @nats-io/obj clients, asserting the
 * exact values nats-server 2.9.10 produces for the same scenario (recorded from it; the
 * differential suite re-checks live).
 */
import { expect, it } from "vitest"
import { recordedSuite } from "../support/Recorded.ts"
import { kvScenarios } from "./KvScenarios.ts"

recordedSuite("KV and object store", { storages: ["file", "memory"] }, (broker) => {
  it("puts, gets (latest and by revision), creates, updates with CAS, deletes, purges, lists keys and history", async () => {
    expect(await kvScenarios.basics(broker.url)).toEqual({
      "revs": [1, 2, 3, 4],
      "latest": { "key": "a", "revision": 2, "operation": "PUT", "value": "2", "delta": 0 },
      "byRevision": { "key": "a", "revision": 1, "operation": "PUT", "value": "1", "delta": 0 },
      "missing": null,
      "createDup": "JetStreamApiError: wrong last sequence: 2",
      "createNew": 5,
      "updateOk": 6,
      "updateBad": "JetStreamApiError: wrong last sequence: 6",
      "afterDelete": { "key": "b.c", "revision": 7, "operation": "DEL", "value": "", "delta": 0 },
      "createAfterDelete": 8,
      "history": [{ "key": "a", "revision": 1, "operation": "PUT", "value": "1", "delta": 2 }, {
        "key": "a",
        "revision": 2,
        "operation": "PUT",
        "value": "2",
        "delta": 1
      }, { "key": "a", "revision": 6, "operation": "PUT", "value": "3", "delta": 0 }],
      "keys": ["a", "b.c", "b.d", "fresh"],
      "filtered": ["b.c", "b.d"],
      "afterPurge": { "key": "a", "revision": 9, "operation": "PURGE", "value": "", "delta": 0 },
      "purgedHistory": [{ "key": "a", "revision": 9, "operation": "PURGE", "value": "", "delta": 0 }],
      "status": { "bucket": "basics", "values": 6, "history": 3, "ttl": 0, "storage": "file" }
    })
  })

  it("watches initial values then updates and deletes in order, headers-only, from a revision", async () => {
    expect(await kvScenarios.watch(broker.url)).toEqual({
      "all": [
        { "key": "y", "revision": 2, "operation": "PUT", "value": "2", "delta": 1 },
        { "key": "x", "revision": 3, "operation": "PUT", "value": "3", "delta": 0 },
        { "key": "y", "revision": 4, "operation": "DEL", "value": "", "delta": 0 },
        { "key": "z", "revision": 5, "operation": "PUT", "value": "9", "delta": 0 }
      ],
      "headersOnly": [{ "key": "x", "revision": 3, "operation": "PUT", "value": "", "delta": 0 }],
      "fromRevision": [{ "key": "y", "revision": 2, "operation": "PUT", "value": "2", "delta": 3 }, {
        "key": "x",
        "revision": 3,
        "operation": "PUT",
        "value": "3",
        "delta": 2
      }, { "key": "y", "revision": 4, "operation": "DEL", "value": "", "delta": 1 }]
    })
  })

  it("creates buckets with max value size, history, ttl, max bytes and memory storage, and enforces them", async () => {
    expect(await kvScenarios.limits(broker.url)).toEqual({
      "small": 1,
      "tooBig": "JetStreamApiError: message size exceeds maximum allowed",
      "maxValueSize": 8,
      "ttl": 60000,
      "history": 2,
      "max_bytes": 4096,
      "storage": "memory",
      "values": [{ "key": "k", "revision": 2, "operation": "PUT", "value": "again", "delta": 1 }, {
        "key": "k",
        "revision": 3,
        "operation": "PUT",
        "value": "third",
        "delta": 0
      }],
      "opened": "ok"
    })
  })

  it("stores, reads back, links, updates, lists, deletes multi-chunk objects and seals the store", async () => {
    expect(await kvScenarios.objects(broker.url)).toEqual({
      "put": { "name": "big.bin", "size": 3145745, "chunks": 25, "deleted": false },
      "intact": true,
      "info": { "size": 3145745, "chunks": 25, "description": "three megabytes", "digestPrefix": "SHA-256=" },
      "link": { "name": "alias", "hasLink": true },
      "viaLink": "hello",
      "list": ["alias", "big.bin", "small.txt"],
      "afterDelete": ["alias", "big.bin"],
      "status": { "bucket": "files", "sealed": false },
      "sealedPut": "JetStreamApiError"
    })
  })
})
