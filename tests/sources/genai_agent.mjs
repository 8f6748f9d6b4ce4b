// A Node.js agent's GenAI spans, made with the OpenTelemetry JS SDK and exported over OTLP:
// plays a span plan (tests/sources/test_genai_spans.py: PLAN, as JSON on stdin) the way that
// module's `_emit` plays it in Python, then flushes, shuts down and exits.
//
//     NODE_PATH=.tools/clis/node_modules node tests/sources/genai_agent.mjs \
//         http/protobuf http://127.0.0.1:4318/v1/traces < plan.json
//
// The protocol is http/protobuf, http/json or grpc; the endpoint is the traces URL for the
// HTTP ones and http://host:port for gRPC. The SDK is the one scripts/bootstrap.sh --tests
// installs (tests/sources/clis/package.json), found through NODE_PATH. Exits 1 when an export
// failed, 2 on bad arguments.
//
// The plan: {service, scope: [name, version], t0_s, spans}; each span has name, start_ms,
// end_ms (after t0_s, epoch seconds), attributes, and may have children (started after it,
// ended before it) and error {type, message} (status ERROR, `error.type`), set last.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url); // (resolves through NODE_PATH)
const api = require("@opentelemetry/api");
const { defaultResource, resourceFromAttributes } = require("@opentelemetry/resources");
const { BasicTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-base");

const EXPORTERS = {
  "http/protobuf": "@opentelemetry/exporter-trace-otlp-proto",
  "http/json": "@opentelemetry/exporter-trace-otlp-http",
  grpc: "@opentelemetry/exporter-trace-otlp-grpc",
};

const [protocol, endpoint] = process.argv.slice(2);
if (!(protocol in EXPORTERS) || !endpoint) {
  process.stderr.write(`usage: genai_agent.mjs {${Object.keys(EXPORTERS).join("|")}} ENDPOINT < plan.json\n`);
  process.exit(2);
}
api.diag.setLogger(new api.DiagConsoleLogger(), api.DiagLogLevel.WARN);

/** The exporter, remembering every failed export (the SDK only logs them). */
function exporter(failures) {
  const { OTLPTraceExporter } = require(EXPORTERS[protocol]);
  const inner = new OTLPTraceExporter({ url: endpoint });
  return {
    export(spans, done) {
      inner.export(spans, (result) => {
        if (result.code !== 0) failures.push(result.error ?? new Error("export failed"));
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush(),
  };
}

/** [seconds, nanoseconds] `ms` after `t0S`: exact, as Python's `T0 + ms * MS` is. */
function hrTime(t0S, ms) {
  return [t0S + Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

async function main() {
  const plan = JSON.parse(readFileSync(0, "utf8"));
  const failures = [];
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ "service.name": plan.service })),
    spanProcessors: [new BatchSpanProcessor(exporter(failures))],
  });
  const tracer = provider.getTracer(...plan.scope);

  function play(spec, parent) {
    const context = parent ? api.trace.setSpan(api.ROOT_CONTEXT, parent) : api.ROOT_CONTEXT;
    const span = tracer.startSpan(
      spec.name,
      { attributes: spec.attributes, startTime: hrTime(plan.t0_s, spec.start_ms) },
      context,
    );
    for (const child of spec.children ?? []) play(child, span);
    if (spec.error) {
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: spec.error.message });
      span.setAttribute("error.type", spec.error.type);
    }
    span.end(hrTime(plan.t0_s, spec.end_ms));
  }

  for (const spec of plan.spans) play(spec, undefined);
  try {
    await provider.shutdown(); // (flushes: one batch, children before their parents)
  } catch (error) {
    failures.push(error); // (a failed export rejects the flush too: reported once)
  }
  if (failures.length) {
    for (const error of new Set(failures)) process.stderr.write(`export failed: ${error}\n`);
    process.exitCode = 1;
  }
}

await main();
