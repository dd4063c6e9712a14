// SPDX-License-Identifier: BUSL-1.1
//! Verifies credentials with Digital Bazaar's reference libraries, the ones the W3C VC
//! interoperability reports use: `@digitalbazaar/vc` with the `eddsa-jcs-2022` cryptosuite
//! (`@digitalbazaar/data-integrity`), did:key resolved offline by `@digitalbazaar/did-method-key`.
//!
//! Usage: `node verify.mjs CREDENTIALS.json`, where the file holds a JSON array of credentials.
//! Prints one JSON line per credential, in order: `{"index", "id", "verified", "safe_mode",
//! "errors"}`. `verified` is the library's verdict on the proof and the credential;
//! `safe_mode` says the credential also expands and converts to RDF under JSON-LD safe mode,
//! which refuses any term no context defines (rather than silently dropping it).
//!
//! A credential carrying `credentialStatus` also has its status checked with
//! `@digitalbazaar/vc-bitstring-status-list` (`checkStatus`, given to `verifyCredential`, which
//! requires one for such a credential; it fetches each entry's
//! status list credential, verifies it, checks its issuer is the credential's and reads the
//! bit): the line then holds `"status": {"revocation": bool, "suspension": bool}` (`null`
//! without `credentialStatus`) and `"status_errors"`.
//!
//! The document loader answers from local copies (the contexts of
//! `@digitalbazaar/credentials-context` and did:key documents), and fetches over HTTP only
//! status list credentials on a loopback address (the test zone's); any other URL is an
//! error, so nothing goes to the network.

import {readFile} from 'node:fs/promises';

import {contexts} from '@digitalbazaar/credentials-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as didKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {createVerifyCryptosuite} from
  '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import jsonld from 'jsonld';

const didKeyDriver = didKey.driver();
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk',
  fromMultibase: Ed25519Multikey.from
});

async function documentLoader(url) {
  const context = contexts.get(url);
  if(context !== undefined) {
    return {contextUrl: null, documentUrl: url, document: context};
  }
  if(url.startsWith('did:key:')) {
    const document = await didKeyDriver.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  if(isLoopbackStatusList(url)) {
    const response = await fetch(url);
    if(!response.ok) {
      throw new Error(`GET ${url} answered ${response.status}`);
    }
    return {contextUrl: null, documentUrl: url, document: await response.json()};
  }
  throw new Error(`no local copy of "${url}" (this verifier does not use the network)`);
}

function isLoopbackStatusList(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === 'http:' &&
    ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) &&
    parsed.pathname.startsWith('/v1/credentials/status/');
}

/// The bits `checkStatus` read, by purpose, from the verifier's `statusResult` (absent when
/// the credential has no `credentialStatus` or its proof failed first).
function statusOf(statusResult) {
  if(!statusResult) {
    return {status: null, errors: []};
  }
  if(!statusResult.verified) {
    return {status: null, errors: messages(statusResult.error)};
  }
  const status = {};
  for(const {credentialStatus, status: bit} of statusResult.results) {
    status[credentialStatus.statusPurpose] = bit;
  }
  return {status, errors: []};
}

function messages(error) {
  if(!error) {
    return [];
  }
  const nested = [error.errors, error.details?.errors].flat().filter(Boolean);
  let own = error.message ? String(error.message) : String(error);
  // A safe-mode refusal names the JSON-LD event behind it (e.g. an undefined term).
  const event = error.details?.event;
  if(event) {
    own += ` (${event.code}: ${JSON.stringify(event.details ?? {})})`;
  }
  return [own, ...nested.flatMap(messages)];
}

async function verifyOne(credential, index) {
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const result = await vc.verifyCredential({
    credential, suite, documentLoader, checkStatus
  });
  const errors = [];
  if(!result.verified) {
    errors.push(...messages(result.error));
    for(const r of result.results ?? []) {
      errors.push(...messages(r.error));
    }
    if(result.statusResult && !result.statusResult.verified) {
      errors.push(...messages(result.statusResult.error));
    }
  }
  let safeMode = true;
  try {
    await jsonld.expand(structuredClone(credential), {documentLoader, safe: true});
    await jsonld.toRDF(structuredClone(credential), {
      documentLoader, safe: true, format: 'application/n-quads'
    });
  } catch(error) {
    safeMode = false;
    errors.push(`JSON-LD safe mode: ${messages(error).join('; ')}`);
  }
  const status = statusOf(result.statusResult);
  return {
    index,
    id: credential?.id ?? null,
    verified: result.verified === true,
    safe_mode: safeMode,
    errors: [...new Set(errors)],
    status: status.status,
    status_errors: status.errors
  };
}

const [path] = process.argv.slice(2);
if(!path) {
  console.error('usage: node verify.mjs CREDENTIALS.json');
  process.exit(2);
}
const credentials = JSON.parse(await readFile(path, 'utf8'));
if(!Array.isArray(credentials)) {
  console.error(`${path}: expected a JSON array of credentials`);
  process.exit(2);
}
for(const [index, credential] of credentials.entries()) {
  console.log(JSON.stringify(await verifyOne(credential, index)));
}
