/**
 * Starting the benchmark's processes: one-shot runs that answer one JSON line, and long-lived
 * servers that announce themselves with one.
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Build from "./build.ts"

const lastJsonLine = (text: string): unknown => {
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("{") || line.startsWith("["))
  const last = lines.at(-1)
  if (last === undefined) throw new Error("no JSON line on stdout")
  return JSON.parse(last)
}

/**
 * Runs a built process with `task` as its JSON argument and returns the JSON it printed last.
 * Fails on a non-zero exit or after `timeoutMs`.
 *
 * @since 0.1.0
 */
export const runOnce = <A>(
  entry: Build.Entry,
  task: unknown,
  options: {
    readonly nodeFlags?: ReadonlyArray<string>
    readonly timeoutMs?: number
    /** A command that runs node, with its arguments (e.g. `valgrind` and its flags). */
    readonly wrapper?: ReadonlyArray<string>
  } = {}
): Promise<A> =>
  new Promise((resolve, reject) => {
    const command = [...(options.wrapper ?? []), process.execPath, ...(options.nodeFlags ?? []), Build.file(entry), JSON.stringify(task)]
    const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`${entry} exited with ${code ?? signal}: ${stderr.trim().split("\n").slice(-5).join(" | ")}`))
        return
      }
      try {
        resolve(lastJsonLine(stdout) as A)
      } catch (error) {
        reject(new Error(`${entry}: ${(error as Error).message}; stderr: ${stderr.trim().slice(-500)}`))
      }
    })
  })

/**
 * A long-lived process and what it announced.
 *
 * @since 0.1.0
 */
export interface Server<A> {
  readonly info: A
  readonly stop: () => void
}

/**
 * Starts a built server process and waits for its first stdout line (JSON).
 *
 * @since 0.1.0
 */
export const startServer = <A>(entry: Build.Entry, args: ReadonlyArray<string> = []): Promise<Server<A>> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [Build.file(entry), ...args], { stdio: ["ignore", "pipe", "inherit"] })
    let buffered = ""
    const onData = (chunk: string): void => {
      buffered += chunk
      const newline = buffered.indexOf("\n")
      if (newline < 0) return
      child.stdout?.off("data", onData)
      child.stdout?.resume()
      resolve({ info: JSON.parse(buffered.slice(0, newline)) as A, stop: () => child.kill("SIGTERM") })
    }
    child.stdout?.setEncoding("utf8").on("data", onData)
    child.on("exit", (code) => reject(new Error(`${entry} exited with ${code} before it listened`)))
  })
