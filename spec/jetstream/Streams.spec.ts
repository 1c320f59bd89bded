/**
 * Streams through the official @nats-io/jetstream client, asserting the exact values nats-server
 * 2.9.10 produces for the same scenario (recorded from it; spec/differential re-checks live).
 */
import { expect, it } from "vitest"
import { streamConfigsAt210 } from "../support/Level210.ts"
import { configsAt211 } from "../support/Level211.ts"
import { recordedSuite } from "../support/Recorded.ts"
import { streamScenarios } from "./StreamScenarios.ts"

recordedSuite("JetStream streams", { storages: ["file", "memory"] }, (broker) => {
  it("creates, reports, lists and deletes a stream with nats-server's defaults and errors", async () => {
    // The 2.9.10 recording; our 2.10 and 2.11 config keys are asserted and taken out first
    // (Level210.ts, Level211.ts).
    expect(configsAt211(streamConfigsAt210(await streamScenarios.createInfoDelete(broker.url)))).toEqual({
      "config": {
        "name": "ORDERS",
        "subjects": ["orders.>"],
        "retention": "limits",
        "max_consumers": -1,
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 0,
        "max_msgs_per_subject": -1,
        "max_msg_size": -1,
        "discard": "old",
        "storage": "file",
        "num_replicas": 1,
        "duplicate_window": 120000000000,
        "allow_direct": false,
        "mirror_direct": false,
        "sealed": false,
        "deny_delete": false,
        "deny_purge": false,
        "allow_rollup_hdrs": false
      },
      "state": { "messages": 0, "first_seq": 0, "last_seq": 0, "consumer_count": 0 },
      "again": "ok",
      "different": "400 10058 stream name already in use with a different configuration",
      "overlap": "400 10065 subjects overlap with an existing stream",
      "infoConfig": {
        "name": "ORDERS",
        "subjects": ["orders.>"],
        "retention": "limits",
        "max_consumers": -1,
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 0,
        "max_msgs_per_subject": -1,
        "max_msg_size": -1,
        "discard": "old",
        "storage": "file",
        "num_replicas": 1,
        "duplicate_window": 120000000000,
        "allow_direct": false,
        "mirror_direct": false,
        "sealed": false,
        "deny_delete": false,
        "deny_purge": false,
        "allow_rollup_hdrs": false
      },
      "missing": "404 10059 stream not found",
      "names": ["ORDERS"],
      "deleted": true,
      "deletedAgain": "404 10059 stream not found"
    })
  })

  it("acknowledges publishes with increasing sequences; no stream means no responders", async () => {
    expect(await streamScenarios.publishAcks(broker.url)).toEqual({
      "acks": [{ "stream": "PUB", "seq": 1, "duplicate": false }, { "stream": "PUB", "seq": 2, "duplicate": false }, {
        "stream": "PUB",
        "seq": 3,
        "duplicate": false
      }],
      "noStream": "JetStreamNotEnabled: jetstream is not enabled",
      "state": { "messages": 3, "bytes": 69, "first_seq": 1, "last_seq": 3, "num_subjects": 1, "consumer_count": 0 }
    })
  })

  it("deduplicates by Nats-Msg-Id and enforces the expected-* headers", async () => {
    expect(await streamScenarios.dedupAndExpectations(broker.url)).toEqual({
      "a": [1, false],
      "dup": [1, true],
      "b": [2, false],
      "wrongSeq": "400 10071 wrong last sequence: 2",
      "wrongId": "400 10070 wrong last msg ID: id-2",
      "wrongStream": "400 10060 expected stream does not match",
      "subjSeqOk": 3,
      "subjSeqBad": "400 10071 wrong last sequence: 3",
      "newSubj": 4,
      "state": { "messages": 4, "first_seq": 1, "last_seq": 4, "num_subjects": 3, "consumer_count": 0 }
    })
  })

  it("enforces max_msgs and max_msgs_per_subject by discarding old messages", async () => {
    expect(await streamScenarios.limitsDiscardOld(broker.url)).toEqual({
      "state": { "messages": 5, "first_seq": 6, "last_seq": 10, "num_subjects": 5, "consumer_count": 0 },
      "subjects": { "lim.1": 1, "lim.2": 1, "lim.3": 1, "lim.4": 1, "lim.5": 1 },
      "first": ["lim.1", 6, "n1"]
    })
  })

  it("rejects publishes past max_msgs with discard new", async () => {
    expect(await streamScenarios.discardNew(broker.url)).toEqual({
      "ok1": 1,
      "ok2": 2,
      "full": "503 10077 maximum messages exceeded"
    })
  })

  it("gets, deletes and purges messages (by filter, keep, seq, all)", async () => {
    expect(await streamScenarios.purgeGetDelete(broker.url)).toEqual({
      "bySeq": { "subject": "pg.b", "seq": 2, "data": "pg.b", "hdr": "pg.b" },
      "lastA": { "subject": "pg.a", "seq": 5, "data": "pg.a", "hdr": "pg.a" },
      "nextB": { "subject": "pg.b", "seq": 6, "data": "pg.b", "hdr": "pg.b" },
      "none": null,
      "del": true,
      "delAgain": "400 10043 sequence 3 not found",
      "deleted": [3],
      "afterDelete": {
        "messages": 5,
        "first_seq": 1,
        "last_seq": 6,
        "num_subjects": 3,
        "num_deleted": 1,
        "consumer_count": 0
      },
      "purgeKeep": 1,
      "purgeSeq": 2,
      "mid": { "messages": 2, "first_seq": 5, "last_seq": 6, "num_subjects": 2, "consumer_count": 0 },
      "purgeAll": 2,
      "end": { "messages": 0, "first_seq": 7, "last_seq": 6, "consumer_count": 0 }
    })
  })

  it("serves direct get by seq, last and next by subject, and the subject-appended form", async () => {
    expect(await streamScenarios.directGet(broker.url)).toEqual({
      "bySeq": { "subject": "dg.b", "seq": 2, "data": "two", "stream": "DG" },
      "last": { "subject": "dg.a", "seq": 3, "data": "three", "stream": "DG" },
      "next": { "subject": "dg.a", "seq": 3, "data": "three", "stream": "DG" },
      "missing": null,
      "raw": { "stream": "DG", "subject": "dg.b", "seq": "2", "data": "two", "hasTime": true }
    })
  })

  it("rolls up by subject and all with Nats-Rollup, and refuses it unless allowed", async () => {
    expect(await streamScenarios.rollup(broker.url)).toEqual({
      "r1": 4,
      "afterSub": { "messages": 2, "first_seq": 3, "last_seq": 4, "num_subjects": 2, "consumer_count": 0 },
      "r2": 5,
      "afterAll": { "messages": 1, "first_seq": 5, "last_seq": 5, "num_subjects": 1, "consumer_count": 0 },
      "refused": "500 10111 rollup not permitted"
    })
  })

  it("updates streams with nats-server's rules and lists/filters them", async () => {
    expect(await streamScenarios.updateAndList(broker.url)).toEqual({
      "subjects": ["up.a", "up.b"],
      "max_msgs": 10,
      "description": "changed",
      "badStorage": "500 10052 stream configuration update can not change storage type",
      "overlap": "400 10065 subjects overlap with an existing stream",
      "listed": ["UP", "UP2"],
      "filtered": ["UP"],
      "accountStreams": 2
    })
  })
})
