// A small Node client of the Integration API: stubs loaded at run time from the repository's protos
// (src/IntegrationApi.Contracts/Protos), model parameters packed as google.protobuf.Any(Value), and one
// bidirectional StreamChat that carries several requests, told apart by clientRequestId.
'use strict';
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const DEFAULT_PROTO_DIR = path.resolve(__dirname, '../../src/IntegrationApi.Contracts/Protos');

// google.protobuf.Value, for packing model parameters (protobufjs ships the well-known types).
const valueType = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto')).lookupType('google.protobuf.Value');

/** A JavaScript value as a google.protobuf.Value object. */
function toValue(v) {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === 'object') return { structValue: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toValue(x)])) } };
  throw new TypeError(`cannot pack a ${typeof v} as google.protobuf.Value`);
}

/** One model parameter as the service expects it: google.protobuf.Any wrapping a google.protobuf.Value. */
function packParam(v) {
  return { type_url: 'type.googleapis.com/google.protobuf.Value', value: Buffer.from(valueType.encode(valueType.fromObject(toValue(v))).finish()) };
}

/** { temperature: 0.2, max_completion_tokens: 100 } → { 'model.temperature': Any, ... } ("model." is added when missing). */
function modelParameters(params) {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k.startsWith('model.') ? k : `model.${k}`, packParam(v)]));
}

/** google.protobuf.Struct of string values, as proto-loader's objects spell it. */
function struct(values) {
  return { fields: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { stringValue: String(v) }])) };
}

/** A text message of the contract (role: system, user, assistant, tool). */
function textMessage(role, text) {
  return { role, contents: [{ contentType: 'text', contentFormat: 'raw', content: Buffer.from(text, 'utf8') }] };
}

/** The LlmService client (one stream may reach every provider via providerName). */
function connect(address, { protoDir = DEFAULT_PROTO_DIR, credentials = grpc.credentials.createInsecure() } = {}) {
  const definition = protoLoader.loadSync(path.join(protoDir, 'integration-api.proto'), {
    includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const api = grpc.loadPackageDefinition(definition).integration_api;
  return new api.LlmService(address, credentials);
}

/**
 * Opens one StreamChat. Returns { send(request), cancel(clientRequestId), end(), done } where `done` settles when the
 * call ends, and `onResponse(response)` sees every delta and terminal (a terminal has finishReason set).
 */
function openStream(client, apiKey, onResponse) {
  const metadata = new grpc.Metadata();
  metadata.set('x-api-key', apiKey);
  const call = client.StreamChat(metadata);
  const done = new Promise((resolve, reject) => {
    call.on('data', onResponse);
    call.on('error', reject);
    call.on('status', (status) => (status.code === grpc.status.OK ? resolve(status) : reject(Object.assign(new Error(status.details), status))));
  });
  return {
    send: (request) => call.write(request),
    cancel: (clientRequestId) => call.write({ action: 'CANCEL', clientRequestId }),
    end: () => call.end(),
    done,
  };
}

/** A response's text (the delta's piece, or the terminal's whole answer). */
function textOf(response) {
  return (response.data?.contents ?? []).filter((c) => c.contentType === 'text').map((c) => Buffer.from(c.content).toString('utf8')).join('');
}

module.exports = { connect, openStream, modelParameters, packParam, struct, textMessage, textOf, grpc };
