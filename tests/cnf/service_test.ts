import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { toJson } from "../../src/cnf/cnf_metric.ts";
import { type CnfMetricMessage, fromMessage } from "../../src/cnf/cnf_metric_message.ts";
import type { CnfRepository } from "../../src/cnf/repository.ts";
import { type CnfMetricsDeps, cnfMetricsHandlers, loadCnfMetricsProto } from "../../src/cnf/service.ts";
import { SqliteCnfRepository } from "../../src/cnf/sqlite_repository.ts";
import { Group } from "../../src/cache/group.ts";
import { bindLoopback } from "../_grpc_server.ts";

/** A read-through cache over the repository that also caches misses, like the `metrics` group. */
class FakeCache {
  readonly entries = new Map<string, Uint8Array | null>();
  failReads = false;
  failInvalidate = false;
  constructor(readonly repo: CnfRepository) {}

  deps(repo: CnfRepository = this.repo): CnfMetricsDeps {
    return {
      repo,
      get: async (id) => {
        if (this.failReads) throw new Error("connection refused");
        if (!this.entries.has(id)) {
          const m = await this.repo.get(id);
          this.entries.set(id, m === null ? null : new TextEncoder().encode(toJson(m)));
        }
        return this.entries.get(id)!;
      },
      invalidate: (id) => {
        if (this.failInvalidate) return Promise.reject(new Error("peer 10.0.0.2 timed out"));
        this.entries.delete(id);
        return Promise.resolve();
      },
    };
  }
}

type Call = (method: string, request: object) => Promise<Record<string, unknown>>;

/** Serves the handlers on a free loopback port and hands `fn` a promise-returning client. */
async function withService(deps: CnfMetricsDeps, fn: (call: Call) => Promise<void>): Promise<void> {
  const service = loadCnfMetricsProto();
  const server = new grpc.Server();
  server.addService(service, cnfMetricsHandlers(deps));
  const port = await bindLoopback(server);
  const Client = grpc.makeGenericClientConstructor(service, "CnfMetricsService");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  type Method = (
    req: object,
    cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void,
  ) => void;
  const methods = client as unknown as Record<string, Method>;
  const call: Call = (method, request) =>
    new Promise((resolve, reject) =>
      methods[method].call(client, request, (err, res) => err ? reject(err) : resolve(res))
    );
  try {
    await fn(call);
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
}

async function rejectsWith(p: Promise<unknown>, code: grpc.status, details: RegExp): Promise<void> {
  await assert.rejects(p, (err: grpc.ServiceError) => {
    assert.equal(err.code, code, `status ${grpc.status[err.code]}: ${err.details}`);
    assert.match(err.details, details);
    return true;
  });
}

function message(overrides: Partial<CnfMetricMessage> = {}): CnfMetricMessage {
  return {
    cnf_id: "CNF-900",
    timestamp: { seconds: "1748781296", nanos: 789_654_321 },
    metric_type: "Egress Latency",
    value: 12.5,
    unit: "ms",
    status: "Normal",
    ...overrides,
  };
}

function fixture() {
  const repo = SqliteCnfRepository.open(":memory:");
  return { repo, cache: new FakeCache(repo) };
}

Deno.test("ShowCnfMetric returns a seeded metric; repeated reads are served by a real group", async () => {
  const repo = SqliteCnfRepository.open(":memory:");
  // The wiring of src/node.ts: the service reads through a Group whose getter reads the repository.
  const group = new Group({
    name: "metrics",
    cacheBytes: 1 << 20,
    getter: async (id) => {
      const m = await repo.get(id);
      return m === null ? null : toJson(m);
    },
  });
  const deps: CnfMetricsDeps = {
    repo,
    get: async (id) => (await group.get(id))?.toBytes() ?? null,
    invalidate: (id) => group.delete(id),
  };
  await withService(deps, async (call) => {
    const res = await call("ShowCnfMetric", { cnf_id: "CNF-001" });
    assert.deepEqual(res, {
      metric: {
        cnf_id: "CNF-001",
        timestamp: { seconds: "1735689660", nanos: 0 },
        metric_type: "Ingress Latency",
        value: 20,
        unit: "ms",
        status: "Normal",
      },
      code: 200,
    });
    for (let i = 0; i < 5; i++) assert.deepEqual(await call("ShowCnfMetric", { cnf_id: "CNF-001" }), res);
    assert.equal(repo.reads, 1, "repeated reads are served by the cache");
    assert.equal(group.stats().cacheHits, 5);
  });
  await repo.close();
});

Deno.test("ShowCnfMetric answers NOT_FOUND for an unknown id", async () => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    await rejectsWith(
      call("ShowCnfMetric", { cnf_id: "CNF-999" }),
      grpc.status.NOT_FOUND,
      /^cnf_id: .*CNF-999/,
    );
  });
  await repo.close();
});

Deno.test("ShowCnfMetric answers INVALID_ARGUMENT naming cnf_id, without touching the source", async () => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    for (const cnf_id of ["", "CNF-001' OR '1'='1", "x".repeat(65)]) {
      await rejectsWith(
        call("ShowCnfMetric", { cnf_id }),
        grpc.status.INVALID_ARGUMENT,
        /^cnf_id: expected /,
      );
    }
    await rejectsWith(call("ShowCnfMetric", {}), grpc.status.INVALID_ARGUMENT, /^cnf_id: /);
  });
  assert.equal(repo.reads, 0);
  await repo.close();
});

Deno.test("ShowCnfMetric answers UNAVAILABLE when the source fails", async () => {
  const { repo, cache } = fixture();
  cache.failReads = true;
  await withService(cache.deps(), async (call) => {
    await rejectsWith(
      call("ShowCnfMetric", { cnf_id: "CNF-001" }),
      grpc.status.UNAVAILABLE,
      /unavailable for CNF-001: connection refused/,
    );
  });
  await repo.close();
});

Deno.test("ShowCnfMetric answers INTERNAL for a cached value that breaks the contract", async () => {
  const { repo, cache } = fixture();
  cache.entries.set("CNF-001", new TextEncoder().encode("not json"));
  cache.entries.set("CNF-002", new TextEncoder().encode(toJson((await repo.get("CNF-003"))!)));
  await withService(cache.deps(), async (call) => {
    await rejectsWith(call("ShowCnfMetric", { cnf_id: "CNF-001" }), grpc.status.INTERNAL, /not a CnfMetric/);
    await rejectsWith(
      call("ShowCnfMetric", { cnf_id: "CNF-002" }),
      grpc.status.INTERNAL,
      /belongs to CNF-003/,
    );
  });
  await repo.close();
});

Deno.test("CreateCnfMetric stores a metric that ShowCnfMetric then returns, despite a cached miss", async () => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    await rejectsWith(call("ShowCnfMetric", { cnf_id: "CNF-900" }), grpc.status.NOT_FOUND, /CNF-900/);
    const created = await call("CreateCnfMetric", { metric: message() });
    // Sub-millisecond precision is dropped, as documented: nanos 789654321 becomes 789000000.
    const stored = message({ timestamp: { seconds: "1748781296", nanos: 789_000_000 } });
    assert.deepEqual(created, { metric: stored, code: 200 });
    assert.deepEqual(await call("ShowCnfMetric", { cnf_id: "CNF-900" }), { metric: stored, code: 200 });
    assert.equal(await repo.count(), 101);
  });
  await repo.close();
});

Deno.test("CreateCnfMetric replaces an existing metric (upsert) and invalidates the cached copy", async () => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    const old = await call("ShowCnfMetric", { cnf_id: "CNF-001" });
    assert.equal((old.metric as CnfMetricMessage).value, 20);
    const changed = message({ cnf_id: "CNF-001", value: 35, status: "warning" });
    const stored = {
      ...changed,
      status: "Warning",
      timestamp: { seconds: "1748781296", nanos: 789_000_000 },
    };
    assert.deepEqual(await call("CreateCnfMetric", { metric: changed }), { metric: stored, code: 200 });
    assert.deepEqual(await call("ShowCnfMetric", { cnf_id: "CNF-001" }), { metric: stored, code: 200 });
  });
  assert.equal(await repo.count(), 100, "no row added");
  await repo.close();
});

Deno.test("CreateCnfMetric answers INVALID_ARGUMENT naming the bad field", async (t) => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    const cases: [string, object][] = [
      ["metric", {}],
      ["timestamp", { metric: { ...message(), timestamp: null } }],
      ["timestamp", { metric: message({ timestamp: { seconds: "-5", nanos: 0 } }) }],
      ["cnf_id", { metric: message({ cnf_id: "CNF 900" }) }],
      ["metric_type", { metric: message({ metric_type: "" }) }],
      ["value", { metric: message({ value: NaN }) }],
      ["unit", { metric: message({ unit: "u".repeat(33) }) }],
      ["status", { metric: message({ status: "fine" }) }],
      ["status", { metric: message({ status: "" }) }],
      ["value", { metric: message({ value: Infinity }) }],
      ["value", { metric: message({ value: -Infinity }) }],
      ["cnf_id", { metric: message({ cnf_id: "" }) }],
      ["cnf_id", { metric: message({ cnf_id: "C".repeat(65) }) }],
      ["cnf_id", { metric: message({ cnf_id: "CNF-1'; DROP TABLE cnf_metric; --" }) }],
    ];
    for (const [field, request] of cases) {
      await t.step(field, async () => {
        await rejectsWith(
          call("CreateCnfMetric", request),
          grpc.status.INVALID_ARGUMENT,
          new RegExp(`^${field}: expected `),
        );
      });
    }
  });
  assert.equal(await repo.count(), 100);
  await repo.close();
});

Deno.test("CreateCnfMetric answers UNAVAILABLE when the write landed but invalidation failed", async () => {
  const { repo, cache } = fixture();
  cache.failInvalidate = true;
  await withService(cache.deps(), async (call) => {
    await rejectsWith(
      call("CreateCnfMetric", { metric: message() }),
      grpc.status.UNAVAILABLE,
      /CNF-900 was written but its cache entry could not be invalidated.*timed out/,
    );
  });
  assert.notEqual(await repo.get("CNF-900"), null);
  await repo.close();
});

Deno.test("CreateCnfMetric answers UNAVAILABLE when the source fails", async () => {
  const { repo, cache } = fixture();
  await repo.close();
  await withService(cache.deps(), async (call) => {
    await rejectsWith(call("CreateCnfMetric", { metric: message() }), grpc.status.UNAVAILABLE, /unavailable/);
  });
});

Deno.test("UpdateCnfMetric replaces a metric that ShowCnfMetric then returns", async () => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    await call("ShowCnfMetric", { cnf_id: "CNF-003" });
    const changed = message({
      cnf_id: "CNF-003",
      value: 97.5,
      status: "Critical",
      timestamp: { seconds: "1750000000", nanos: 0 },
    });
    assert.deepEqual(await call("UpdateCnfMetric", { metric: changed }), { metric: changed, code: 200 });
    assert.deepEqual(await call("ShowCnfMetric", { cnf_id: "CNF-003" }), { metric: changed, code: 200 });
    await rejectsWith(call("UpdateCnfMetric", { metric: message() }), grpc.status.NOT_FOUND, /CNF-900/);
    await rejectsWith(
      call("UpdateCnfMetric", { metric: message({ unit: "\n" }) }),
      grpc.status.INVALID_ARGUMENT,
      /^unit: /,
    );
  });
  await repo.close();
});

Deno.test("DeleteCnfMetric removes a metric so ShowCnfMetric answers NOT_FOUND", async () => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    await call("ShowCnfMetric", { cnf_id: "CNF-004" });
    assert.deepEqual(await call("DeleteCnfMetric", { cnf_id: "CNF-004" }), { metric: null, code: 200 });
    await rejectsWith(call("ShowCnfMetric", { cnf_id: "CNF-004" }), grpc.status.NOT_FOUND, /CNF-004/);
    await rejectsWith(call("DeleteCnfMetric", { cnf_id: "CNF-004" }), grpc.status.NOT_FOUND, /CNF-004/);
    await rejectsWith(call("DeleteCnfMetric", { cnf_id: "*" }), grpc.status.INVALID_ARGUMENT, /^cnf_id: /);
  });
  await repo.close();
});

Deno.test("Update and Delete answer UNIMPLEMENTED over a repository without them", async () => {
  const { repo, cache } = fixture();
  const readOnly: CnfRepository = {
    get: (id) => repo.get(id),
    upsert: (m) => repo.upsert(m),
    list: (after, limit) => repo.list(after, limit),
    count: () => repo.count(),
    get reads() {
      return repo.reads;
    },
    close: () => repo.close(),
  };
  await withService(cache.deps(readOnly), async (call) => {
    await rejectsWith(
      call("UpdateCnfMetric", { metric: message() }),
      grpc.status.UNIMPLEMENTED,
      /UpdateCnfMetric/,
    );
    await rejectsWith(
      call("DeleteCnfMetric", { cnf_id: "CNF-001" }),
      grpc.status.UNIMPLEMENTED,
      /DeleteCnfMetric/,
    );
  });
  await readOnly.close();
});

Deno.test("loadCnfMetricsProto loads the service once, with the contract's method paths", () => {
  const service = loadCnfMetricsProto();
  assert.equal(loadCnfMetricsProto(), service);
  assert.deepEqual(
    Object.values(service).map((m) => m.path),
    [
      "/cnfmetricspb.CnfMetricsService/ShowCnfMetric",
      "/cnfmetricspb.CnfMetricsService/CreateCnfMetric",
      "/cnfmetricspb.CnfMetricsService/UpdateCnfMetric",
      "/cnfmetricspb.CnfMetricsService/DeleteCnfMetric",
      "/cnfmetricspb.CnfMetricsService/ListCnfMetrics",
    ],
  );
});

Deno.test("ListCnfMetrics pages through every metric in cnf_id order with opaque tokens", async () => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    const first = await call("ListCnfMetrics", {});
    const firstMetrics = first.metrics as CnfMetricMessage[];
    assert.equal(firstMetrics.length, 100, "page_size 0 means 100");
    assert.equal(first.code, 200);
    assert.equal(firstMetrics[0].cnf_id, "CNF-001");
    assert.equal(firstMetrics[2].status, "Warning");
    assert.equal(first.next_page_token, "", "the seed fits one default page: no next page");

    const ids: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await call("ListCnfMetrics", { page_size: 30, page_token: token });
      ids.push(...(page.metrics as CnfMetricMessage[]).map((m) => m.cnf_id));
      token = page.next_page_token as string;
      pages++;
    } while (token !== "" && pages < 10);
    assert.equal(pages, 4);
    assert.deepEqual(ids, firstMetrics.map((m) => m.cnf_id));

    const exact = await call("ListCnfMetrics", { page_size: 50 });
    const second = await call("ListCnfMetrics", { page_size: 50, page_token: exact.next_page_token });
    assert.equal((second.metrics as unknown[]).length, 50);
    assert.equal(second.next_page_token, "", "a full last page says there is no next one");
  });
  await repo.close();
});

Deno.test("ListCnfMetrics lowers a page_size above 1000 to 1000 rather than refusing it", async () => {
  const { repo, cache } = fixture();
  for (let i = 101; i <= 1100; i++) {
    await repo.upsert({ ...fromMessage(message()), cnfId: `CNF-${String(i).padStart(4, "0")}` });
  }
  await withService(cache.deps(), async (call) => {
    const big = await call("ListCnfMetrics", { page_size: 5000 });
    assert.equal((big.metrics as unknown[]).length, 1000, "1100 rows, one page of 1000");
    assert.notEqual(big.next_page_token, "");
    const rest = await call("ListCnfMetrics", { page_size: 5000, page_token: big.next_page_token });
    assert.equal((rest.metrics as unknown[]).length, 100);
    assert.equal(rest.next_page_token, "");
  });
  await repo.close();
});

Deno.test("ListCnfMetrics answers INVALID_ARGUMENT for a negative size or a token it did not make", async () => {
  const { repo, cache } = fixture();
  await withService(cache.deps(), async (call) => {
    await rejectsWith(
      call("ListCnfMetrics", { page_size: -1 }),
      grpc.status.INVALID_ARGUMENT,
      /^page_size: /,
    );
    for (const page_token of ["not base64!", btoa("x' OR 1=1"), "%%%", "A".repeat(200)]) {
      await rejectsWith(
        call("ListCnfMetrics", { page_token }),
        grpc.status.INVALID_ARGUMENT,
        /^page_token: expected a next_page_token/,
      );
    }
  });
  await repo.close();
});

Deno.test("ListCnfMetrics answers UNAVAILABLE when the database fails", async () => {
  const { repo, cache } = fixture();
  await repo.close();
  await withService(cache.deps(), async (call) => {
    await rejectsWith(call("ListCnfMetrics", {}), grpc.status.UNAVAILABLE, /unavailable/);
  });
});
