// Programs some tests drive for real (Debian's chromium and redis-server). A clone on a machine without them
// skips those tests with a message naming the package; CI installs them and sets ROSE_REQUIRE_SERVICES=1, so
// there a missing program fails the test instead of skipping it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

function onPath(program: string): boolean {
  if (program.startsWith("/")) return existsSync(program);
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A skip reason naming the missing program and its Debian package, or false (present, or required by CI). */
export function needsProgram(program: string, debianPackage: string): string | false {
  if (process.env.ROSE_REQUIRE_SERVICES === "1" || onPath(program)) return false;
  return `needs ${program} (Debian package ${debianPackage}; .ci/run installs it)`;
}
