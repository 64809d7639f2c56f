import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ArtifactStore } from "@latentflow/core";

export interface ArtifactStoreHarness {
  store: ArtifactStore;
  /** Damages one stored file behind the store's back, to check that reads verify. */
  corrupt(key: string, name: string): Promise<void>;
  cleanup?(): Promise<void>;
}

const key = (n: number) => n.toString(16).padStart(64, "a");
const bytes = (s: string) => new TextEncoder().encode(s);

/**
 * The artifact-store contract: atomic, idempotent puts; verified reads; listing and deletion; safe
 * names; large artifacts; concurrent writers of one key agree on one artifact.
 */
export function describeArtifactStoreContract(name: string, makeHarness: () => Promise<ArtifactStoreHarness>): void {
  describe(`artifact store contract: ${name}`, () => {
    let h: ArtifactStoreHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.cleanup?.();
    });

    it("stores and returns files with a manifest", async () => {
      const m = await h.store.put(key(1), "records", { "records.jsonl": bytes('{"a":1}\n'), "extra/b.bin": new Uint8Array([1, 2, 3]) }, { step: "x" });
      expect(m.key).toBe(key(1));
      expect(m.type).toBe("records");
      expect(m.files.map((f) => f.name)).toEqual(["extra/b.bin", "records.jsonl"]);
      expect(m.size).toBe(11);
      expect(await h.store.has(key(1))).toBe(true);
      expect(await h.store.has(key(2))).toBe(false);
      expect(await h.store.stat(key(2))).toBeUndefined();
      expect(new TextDecoder().decode(await h.store.read(key(1), "records.jsonl"))).toBe('{"a":1}\n');
      expect(Array.from(await h.store.read(key(1), "extra/b.bin"))).toEqual([1, 2, 3]);
      expect((await h.store.stat(key(1)))?.info).toEqual({ step: "x" });
    });

    it("hashes content, not keys: equal files give equal hashes", async () => {
      const a = await h.store.put(key(3), "json", { "value.json": bytes("[1,2]") });
      const b = await h.store.put(key(4), "json", { "value.json": bytes("[1,2]") });
      const c = await h.store.put(key(5), "json", { "value.json": bytes("[1,3]") });
      expect(a.hash).toBe(b.hash);
      expect(a.hash).not.toBe(c.hash);
    });

    it("keeps the first artifact when a key is put twice", async () => {
      const first = await h.store.put(key(6), "json", { "value.json": bytes("1") });
      const second = await h.store.put(key(6), "json", { "value.json": bytes("2") });
      expect(second.hash).toBe(first.hash);
      expect(new TextDecoder().decode(await h.store.read(key(6), "value.json"))).toBe("1");
    });

    it("replaces what is stored when told to, repairing a damaged copy", async () => {
      await h.store.put(key(14), "json", { "value.json": bytes("1"), "big.bin": new Uint8Array(300 * 1024).fill(7) });
      await h.corrupt(key(14), "value.json");
      await expect(h.store.read(key(14), "value.json")).rejects.toMatchObject({ code: "E_ARTIFACT_CORRUPT" });
      // Without `replace` the damaged copy stays (first writer wins)…
      await h.store.put(key(14), "json", { "value.json": bytes("1"), "big.bin": new Uint8Array(300 * 1024).fill(7) });
      await expect(h.store.read(key(14), "value.json")).rejects.toMatchObject({ code: "E_ARTIFACT_CORRUPT" });
      // …with it, the new files stand, small and large artifacts alike.
      const m = await h.store.put(key(14), "json", { "value.json": bytes("1"), "big.bin": new Uint8Array(300 * 1024).fill(7) }, undefined, { replace: true });
      expect(new TextDecoder().decode(await h.store.read(key(14), "value.json"))).toBe("1");
      expect((await h.store.read(key(14), "big.bin")).every((b) => b === 7)).toBe(true);
      expect((await h.store.stat(key(14)))?.hash).toBe(m.hash);
      await h.store.put(key(15), "json", { "value.json": bytes("old") });
      await h.store.put(key(15), "json", { "value.json": bytes("new") }, undefined, { replace: true });
      expect(new TextDecoder().decode(await h.store.read(key(15), "value.json"))).toBe("new");
      const keys: string[] = [];
      for await (const x of h.store.list()) keys.push(x.key);
      expect(keys.filter((k) => k === key(14) || k === key(15))).toHaveLength(2);
    });

    it("agrees on one artifact when writers race on one key", async () => {
      const payloads = Array.from({ length: 8 }, (_, i) => ({ "value.json": bytes(String(i)), "big.bin": randomBytes(256 * 1024) }));
      const manifests = await Promise.all(payloads.map((p) => h.store.put(key(7), "json", p)));
      const stored = await h.store.stat(key(7));
      expect(new Set(manifests.map((m) => m.hash))).toEqual(new Set([stored!.hash]));
      const big = await h.store.read(key(7), "big.bin");
      expect(big.byteLength).toBe(256 * 1024);
    });

    it("detects a damaged file on read", async () => {
      await h.store.put(key(8), "json", { "value.json": bytes('{"ok":true}') });
      await h.corrupt(key(8), "value.json");
      await expect(h.store.read(key(8), "value.json")).rejects.toMatchObject({ code: "E_ARTIFACT_CORRUPT" });
    });

    it("reports missing artifacts and files with codes", async () => {
      await expect(h.store.read(key(9), "x")).rejects.toMatchObject({ code: "E_ARTIFACT_MISSING" });
      await h.store.put(key(9), "json", { "value.json": bytes("0") });
      await expect(h.store.read(key(9), "nope.json")).rejects.toMatchObject({ code: "E_ARTIFACT_MISSING" });
    });

    it("refuses unsafe keys and file names", async () => {
      await expect(h.store.put("../etc", "json", { "value.json": bytes("0") })).rejects.toMatchObject({ code: "E_ARTIFACT_KEY" });
      await expect(h.store.put(key(10), "json", { "../escape": bytes("0") })).rejects.toMatchObject({ code: "E_ARTIFACT_NAME" });
      await expect(h.store.put(key(10), "json", { "/abs": bytes("0") })).rejects.toMatchObject({ code: "E_ARTIFACT_NAME" });
      expect(await h.store.has(key(10))).toBe(false);
    });

    it("lists and deletes", async () => {
      await h.store.put(key(11), "json", { "value.json": bytes("1") });
      await h.store.put(key(12), "json", { "value.json": bytes("2") });
      const keys: string[] = [];
      for await (const m of h.store.list()) keys.push(m.key);
      expect(keys).toEqual(expect.arrayContaining([key(11), key(12)]));
      expect(await h.store.delete(key(11))).toBe(true);
      expect(await h.store.delete(key(11))).toBe(false);
      expect(await h.store.has(key(11))).toBe(false);
      expect(await h.store.has(key(12))).toBe(true);
    });

    it("round-trips a large artifact byte for byte", async () => {
      const big = randomBytes(48 * 1024 * 1024);
      await h.store.put(key(13), "tensor", { "tensor.npy": big });
      const back = await h.store.read(key(13), "tensor.npy");
      expect(Buffer.compare(Buffer.from(back), big)).toBe(0);
    });
  });
}
