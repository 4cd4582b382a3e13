// SPDX-License-Identifier: Apache-2.0
// Validates Kubernetes objects (a JSON array on stdin) against the API's schemas
// as the npm packages kubernetes-models and @kubernetes-models/prometheus-operator
// ship them (generated from the Kubernetes OpenAPI and the operator's CRDs).
// Prints "valid KIND/NAME" or "invalid KIND/NAME: why" per object; exits 1 on any invalid.
import { readFileSync } from "node:fs";
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const groups = { "v1": core, "apps/v1": apps, "monitoring.coreos.com/v1": monitoring };
let bad = 0;
for (const obj of JSON.parse(readFileSync(0, "utf8"))) {
	const name = `${obj.kind}/${obj.metadata?.name}`;
	const Model = groups[obj.apiVersion]?.[obj.kind];
	try {
		if (!Model)
			throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
		new Model(obj).validate();
		console.log(`valid ${name}`);
	} catch (e) {
		console.log(`invalid ${name}: ${e.message.split("\n")[0]}`);
		bad++;
	}
}
process.exit(bad ? 1 : 0);
