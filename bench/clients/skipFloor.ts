/**
 * The floor of the filtered run: the floor (plain.ts) with twilight-gateway's trick and nothing
 * else: `op`, `s` and `t` read from the bytes by the same `JsonHeader` ours uses, and
 * `JSON.parse` only for the types the program wants (and the markers). The least a client that
 * skips unwanted events this way can cost: inflating every message still has to be paid.
 *
 * @since 0.1.0
 */
import { endMarker, startMarker } from "../workloads.ts"
import * as Plain from "./plain.ts"
import * as Task from "./task.ts"

const task = Task.read()
const count = Task.makeCounter(task, "ws + Decompress + JsonHeader, JSON.parse of the wanted types only")
const wanted = new Set([...(task.wanted ?? []), "READY", startMarker, endMarker])
Plain.connect(task, "skip-floor", (payload) => count(payload.t), task.wanted === undefined ? undefined : (t) => !wanted.has(t))
