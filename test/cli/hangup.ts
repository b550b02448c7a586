/**
 * Runs the bundled CLI on a pseudo-terminal (Python's `pty`, so that its real exit status is seen),
 * waits for the whole READY line on the terminal, then hangs the terminal up (closes its master side), as a closed
 * terminal window or a dropped ssh connection does.
 *
 * `leader`: the CLI is the terminal's session leader (it gets SIGHUP from the kernel at the hang-up).
 * `member`: the CLI runs under a session leader that ignores SIGHUP and waits for it (as under a
 * shell that does not forward the signal): the CLI learns of the hang-up only from its writes (EIO).
 */
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { root, userEnv } from "./support.ts"

const python = String.raw`
import json, os, pty, re, signal, sys, time
argv, err_path, status_path, mode = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
pid, fd = pty.fork()
if pid == 0:
    e = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(e, 2)
    if mode == "leader":
        os.execv(argv[0], argv)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.execv(argv[0], argv)
    _, status = os.waitpid(child, 0)
    with open(status_path, "w") as f:
        f.write(str(status))
    os._exit(0)
buf = b""
deadline = time.time() + 10
while re.search(b"READY[^\\n]*\\n", buf) is None and time.time() < deadline:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
os.close(fd)
_, status = os.waitpid(pid, 0)
if mode != "leader":
    status = int(open(status_path).read())
print(json.dumps({
    "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
    "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
    "sawReady": b"READY" in buf,
}))
`

/** How a CLI run on a terminal that hung up ended, and what it wrote to stderr. */
export interface HangupRun {
  readonly code: number | null
  /** The number of the signal that ended the CLI, if one did (6: SIGABRT). */
  readonly signal: number | null
  readonly sawReady: boolean
  readonly stderr: string
}

/** Runs `node bundle ...args` on a pseudo-terminal and hangs it up once READY was shown (see above). */
export const hangUp = (bundle: string, args: ReadonlyArray<string>, mode: "leader" | "member") =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "review-cli-hangup-"))),
    (dir) =>
      Effect.async<HangupRun>((resume) => {
        const err = join(dir, "stderr")
        const child = execFile(
          "python3",
          ["-c", python, JSON.stringify([process.execPath, bundle, ...args]), err, join(dir, "status"), mode],
          { cwd: root, env: userEnv(), timeout: 20_000 },
          (error, stdout) => {
            if (error !== null) return resume(Effect.die(error))
            const result = JSON.parse(stdout) as Omit<HangupRun, "stderr">
            resume(Effect.succeed({ ...result, stderr: readFileSync(err, "utf8") }))
          }
        )
        return Effect.sync(() => void child.kill("SIGKILL"))
      }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
