/**
 * The process's CPU time, for the benchmarks that measure in their own process.
 *
 * @since 0.1.0
 */

/**
 * CPU time (user + system) this process has used so far, in microseconds: take it before and after
 * the work and subtract.
 *
 * @since 0.1.0
 */
export const cpuMicros = (): number => {
  const { system, user } = process.cpuUsage()
  return user + system
}
