/**
 * The floor: `ws`, the same synchronous decompressor ours uses, `JSON.parse`, and nothing else:
 * each dispatch is counted in the socket callback that decoded it (see plain.ts).
 *
 * @since 0.1.0
 */
import * as Plain from "./plain.ts"
import * as Task from "./task.ts"

const task = Task.read()
const count = Task.makeCounter(task, "ws + Decompress + JSON.parse")
Plain.connect(task, "floor", (payload) => count(payload.t))
