import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { main } from "./cli.js";

const deploy = fileURLToPath(new URL("../../../deploy/fleet/", import.meta.url));

/** The options a CLI command really has, read from its own --help. */
async function optionsOf(command: string): Promise<Set<string>> {
  let help = "";
  await main([command, "--help"], { stdout: (s) => (help += s), stderr: (s) => (help += s) });
  return new Set(help.match(/--[a-z][a-z-]*/g) ?? []);
}

/** Checks that argv is `<command> [--option value…]` with options the command has. */
async function expectRealCommand(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const known = await optionsOf(command!);
  expect(known.size, `'latentflow ${command}' exists`).toBeGreaterThan(2);
  for (const arg of rest) if (arg.startsWith("--")) expect(known, `latentflow ${command} ${arg}`).toContain(arg);
}

describe("deployment files run the CLI's real commands", () => {
  it("compose: Redis plus workers running `latentflow worker`", async () => {
    const compose = parse(await readFile(join(deploy, "compose.yaml"), "utf8")) as { services: Record<string, { command?: string[]; image?: string; depends_on?: string[] }> };
    expect(compose.services.redis?.image).toMatch(/^redis:7/);
    const worker = compose.services.worker!;
    expect(worker.command![0]).toBe("worker");
    expect(worker.depends_on).toContain("redis");
    await expectRealCommand(worker.command!);
  });

  it("kubernetes: a Deployment of workers with the Redis URL from a secret", async () => {
    const docs = (await readFile(join(deploy, "k8s.yaml"), "utf8")).split(/^---$/m).map((d) => parse(d));
    const dep = docs.find((d) => d?.kind === "Deployment");
    const container = dep.spec.template.spec.containers[0];
    expect(container.args[0]).toBe("worker");
    await expectRealCommand(container.args);
    // The env variables the container sets are the ones the CLI reads for --redis and --prefix.
    const help = await optionsOf("worker");
    expect(help).toContain("--redis");
    const env = container.env.map((e: { name: string }) => e.name);
    let text = "";
    await main(["worker", "--help"], { stdout: (s) => (text += s), stderr: () => {} });
    for (const name of env) expect(text).toContain(name);
  });

  it("Dockerfile: the image's default command is a real worker command", async () => {
    const docker = await readFile(join(deploy, "Dockerfile.worker"), "utf8");
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(docker)![1]!) as string[];
    await expectRealCommand(cmd);
  });
});
