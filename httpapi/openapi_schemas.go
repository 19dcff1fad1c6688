package httpapi

// schemas are the components.schemas of the OpenAPI document, one per
// JSON shape the API reads or writes.
func schemas() map[string]any {
	modes := map[string]any{"type": "string", "enum": []string{"listen", "whisper", "barge"}}
	return map[string]any{
		"Problem": object([]string{"type", "title", "status"}, map[string]any{
			"type":       describeSchema(str(), `"about:blank" or https://earshot.dev/problems/<kind>`),
			"title":      str(),
			"status":     integer(),
			"detail":     str(),
			"instance":   describeSchema(str(), "the request path"),
			"request_id": describeSchema(str(), "matches X-Request-Id and the server log"),
			"errors":     array(ref("FieldError")),
		}),
		"FieldError":   object([]string{"field", "detail"}, map[string]any{"field": str(), "detail": str()}),
		"LoginRequest": closed([]string{"username", "password"}, map[string]any{"username": describeSchema(str(), "the user's id in the directory"), "password": str()}),
		"LoginResult":  object([]string{"token", "expires_at", "user", "features"}, map[string]any{"token": str(), "expires_at": dateTime(), "user": ref("User"), "features": array(str())}),
		"User": object([]string{"id", "org", "name", "roles", "phone_number"}, map[string]any{
			"id": str(), "org": str(), "name": str(), "roles": array(str()), "phone_number": nullable(str()),
		}),
		"Me": object([]string{"user", "features", "expires_at"}, map[string]any{
			"user": ref("User"), "features": describeSchema(array(str()), "features of the token the organization still has"), "expires_at": dateTime(),
		}),
		"Pool": object([]string{"id", "name", "number", "agents", "agents_on_call"}, map[string]any{
			"id": str(), "name": str(), "number": str(), "agents": integer(), "agents_on_call": integer(),
		}),
		"PoolList": object([]string{"pools"}, map[string]any{"pools": array(ref("Pool"))}),
		"OnCall": object([]string{"pool", "call_id", "since", "supervisors"}, map[string]any{"pool": str(), "call_id": str(), "since": dateTime(), "node": nodeDoc,
			"supervisors": describeSchema(array(ref("CallSupervisor")), "who supervises the call now, and in which mode (several may)")}),
		"CallSupervisor": object([]string{"id", "name", "mode"}, map[string]any{"id": str(), "name": str(), "mode": ref("Mode")}),
		"UserView": object([]string{"id", "name", "on_call", "supervised"}, map[string]any{
			"id": str(), "name": str(), "on_call": nullable(ref("OnCall")), "supervised": boolean(),
			"stale": staleDoc, "stale_reason": staleReasonDoc,
		}),
		"UserList": object([]string{"users", "stale"}, map[string]any{
			"users": array(ref("UserView")), "stale": staleDoc, "stale_reason": staleReasonDoc,
		}),
		"Offer": object([]string{"id", "agent", "pool", "supervising_number", "dial_uri", "expires_at"}, map[string]any{
			"id": str(), "agent": str(), "pool": str(), "supervising_number": str(),
			"dial_uri": describeSchema(str(), "tel: URI that opens the dialer"), "expires_at": dateTime(), "node": nodeDoc,
		}),
		"OfferResponse": object([]string{"offer"}, map[string]any{"offer": ref("Offer")}),
		"Settings":      closed([]string{"phone_number"}, map[string]any{"phone_number": describeSchema(nullable(str()), "E.164 when read; any usual notation when written")}),
		"DeviceRequest": closed([]string{"platform"}, map[string]any{"platform": map[string]any{"type": "string", "enum": []string{"android", "ios"}}}),
		"Mode":          modes,
		"ModeRequest":   closed([]string{"mode"}, map[string]any{"mode": ref("Mode")}),
		"Session": object([]string{"id", "agent", "pool", "mode", "started_at", "leg"}, map[string]any{
			"id": str(), "agent": str(), "pool": str(), "mode": ref("Mode"), "started_at": dateTime(), "node": nodeDoc,
			"leg":   describeSchema(map[string]any{"type": "string", "enum": []string{"phone", "browser"}}, "phone: a call to the supervising number; browser: Listen here"),
			"media": describeSchema(str(), "a browser session's media WebSocket path"),
		}),
		"ListenHereResult": object([]string{"session", "media"}, map[string]any{
			"session": ref("Session"), "media": describeSchema(str(), "the media WebSocket's path (connectSessionMedia)"),
		}),
		"SessionList": object([]string{"sessions", "stale"}, map[string]any{
			"sessions": array(ref("Session")), "stale": staleDoc, "stale_reason": staleReasonDoc,
		}),
		"AuditEntry": object([]string{"seq", "time", "kind"}, map[string]any{
			"seq": map[string]any{"type": "integer", "format": "int64", "minimum": 1}, "time": dateTime(),
			// x-enum-varnames: oapi-codegen's constant names; the bare
			// value "mode" would clash with the Mode type.
			"kind": map[string]any{"type": "string", "enum": []string{"connect", "mode", "end", "reject"},
				"x-enum-varnames": []string{"KindConnect", "KindMode", "KindEnd", "KindReject"}},
			"org": str(), "session": str(), "supervisor": str(), "agent": str(), "pool": str(),
			"call_id": str(), "node": nodeDoc, "caller": str(), "mode": ref("Mode"), "reason": str(),
			"leg": describeSchema(map[string]any{"type": "string", "enum": []string{"phone", "browser"}}, "how the supervisor was connected (connect, mode, end)"),
		}),
		"AuditPage": object([]string{"entries", "next_before"}, map[string]any{
			"entries": array(ref("AuditEntry")), "next_before": describeSchema(nullable(integer()), "before= of the next page; null on the last"),
		}),
		"Role": map[string]any{"type": "string", "enum": []string{"supervisor", "agent"}},
		"AdminUser": object([]string{"id", "org", "name", "roles", "endpoint", "endpoints", "phone_number", "pools", "password_set"}, map[string]any{
			"id": str(), "org": str(), "name": str(), "roles": array(ref("Role")),
			"endpoint":     describeSchema(nullable(str()), "the agent's endpoint when given as one; null when endpoints lists them"),
			"endpoints":    describeSchema(array(str()), "the agent's endpoints when given as a list; empty otherwise"),
			"phone_number": nullable(str()),
			"pools":        describeSchema(array(str()), "the supervising scope; empty means every pool of the organization"),
			"password_set": describeSchema(boolean(), "whether the user has a password (the hash is never shown)"),
		}),
		"AdminUserList": object([]string{"users"}, map[string]any{"users": array(ref("AdminUser"))}),
		"AdminUserRequest": closed([]string{"org", "roles"}, map[string]any{
			"org":   describeSchema(str(), "an existing organization"),
			"name":  describeSchema(str(), "defaults to the id"),
			"roles": map[string]any{"type": "array", "items": ref("Role"), "minItems": 1, "uniqueItems": true},
			"endpoint": describeSchema(str(), "TECH/resource, e.g. PJSIP/1001 or Local/alice@phones: the agent's phone; "+
				"refused for others. An agent without endpoints is found only by the EARSHOT_AGENT variable of the agent leg"),
			"endpoints": describeSchema(array(str()),
				"instead of endpoint: several phones of one agent (desk phone, softphone, headset app), at most 32"),
			"phone_number": describeSchema(nullable(str()), "any usual notation, stored in E.164; "+
				`left out or null keeps the stored number (the supervisor's own setting, R9), "" clears it`),
			"pools": describeSchema(array(str()), "supervisors only: pools of the organization they may supervise on; "+
				"empty means every pool"),
			"password": describeSchema(map[string]any{"type": "string", "minLength": 1},
				"at most 72 bytes, stored as a bcrypt hash; left out keeps the stored password"),
		}),
		"AdminPool": object([]string{"id", "org", "name", "number", "members"}, map[string]any{
			"id": str(), "org": str(), "name": str(), "number": nullable(str()), "members": array(str()),
		}),
		"AdminPoolList": object([]string{"pools"}, map[string]any{"pools": array(ref("AdminPool"))}),
		"AdminPoolRequest": closed([]string{"org"}, map[string]any{
			"org":     describeSchema(str(), "an existing organization"),
			"name":    describeSchema(str(), "defaults to the id"),
			"number":  describeSchema(str(), "the number customers call, any usual notation, stored in E.164; may be left out"),
			"members": describeSchema(map[string]any{"type": "array", "items": str(), "uniqueItems": true}, "agents of the organization"),
		}),
		"ImportResult": object([]string{"result"}, map[string]any{
			"result": describeSchema(str(), "what the import did, for people: created, updated and unchanged per kind, "+
				"and what the store holds but the file does not (kept)"),
		}),
		"DirectoryFile": describeSchema(closed(nil, map[string]any{
			"organizations": array(closed([]string{"id"}, map[string]any{
				"id": str(), "name": str(), "features": array(map[string]any{"type": "string", "enum": []string{"supervising"}}),
			})),
			"users": array(closed([]string{"id", "org", "roles"}, map[string]any{
				"id": str(), "org": str(), "name": str(), "roles": array(ref("Role")),
				"password": str(), "password_hash": describeSchema(str(), "bcrypt or argon2id; instead of password"),
				"phone_number": str(), "endpoint": str(), "endpoints": array(str()), "pools": array(str()),
			})),
			"pools": array(closed([]string{"id", "org"}, map[string]any{
				"id": str(), "org": str(), "name": str(), "number": str(), "members": array(str()),
			})),
		}), "the directory file the operator maintains (as for --directory), in YAML"),
		"Health": object([]string{"status"}, map[string]any{"status": str()}),
		"Ready": object([]string{"ready", "checks"}, map[string]any{"ready": boolean(), "checks": map[string]any{"type": "object", "additionalProperties": str()},
			"nodes": describeSchema(map[string]any{"type": "object", "additionalProperties": str()},
				"each Asterisk node by id: ok, or why it is not reachable; with several nodes, ready stays true while any is")}),
		"OpenAPI": map[string]any{"type": "object", "description": "an OpenAPI 3.0 document"},
		"CallEvent": object([]string{"agent", "pool", "call_id", "since"}, map[string]any{
			"agent": str(), "pool": str(), "call_id": str(), "since": dateTime(), "node": nodeDoc,
		}),
		"OfferEvent": map[string]any{"allOf": []any{ref("Offer"), map[string]any{"type": "object", "properties": map[string]any{
			"source": map[string]any{"type": "string", "enum": []string{"ad_hoc", "supervised"},
				"description": "ad_hoc: the supervisor asked (createListenOffer); supervised: an agent on their list took a call (R8)"},
		}}}},
		"OfferWithdrawn": object([]string{"id", "agent", "pool"}, map[string]any{"id": str(), "agent": str(), "pool": str()}),
		"SessionEvent": map[string]any{"allOf": []any{ref("Session"), object([]string{"actions"}, map[string]any{
			"actions":     describeSchema(array(ref("Mode")), "the modes the supervisor can switch to (R11)"),
			"reason":      describeSchema(str(), "why it ended (session_ended)"),
			"reason_text": describeSchema(str(), "why it ended in a person's words, e.g. \"you hung up\" (session_ended)"),
		})}},
		// Event is any event's data; the event's name says which (see
		// streamEvents). anyOf, not oneOf: an offer's data would also
		// match OfferWithdrawn, whose fields it has.
		"Event": describeSchema(map[string]any{"anyOf": []any{ref("CallEvent"), ref("OfferEvent"), ref("OfferWithdrawn"), ref("SessionEvent"), ref("Notification")}},
			"the data of an event on the stream; its event name says which schema it is"),
	}
}

func str() map[string]any      { return map[string]any{"type": "string"} }
func integer() map[string]any  { return map[string]any{"type": "integer"} }
func boolean() map[string]any  { return map[string]any{"type": "boolean"} }
func dateTime() map[string]any { return map[string]any{"type": "string", "format": "date-time"} }

func array(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// nullable allows null besides the schema, the OpenAPI 3.0 way; a $ref
// takes no siblings there, so it is wrapped in allOf (every nullable $ref
// here is an object).
func nullable(s map[string]any) map[string]any {
	if _, isRef := s["$ref"]; isRef {
		return map[string]any{"type": "object", "allOf": []any{s}, "nullable": true}
	}
	out := map[string]any{"nullable": true}
	for k, v := range s {
		out[k] = v
	}
	return out
}

func describeSchema(s map[string]any, description string) map[string]any {
	out := map[string]any{"description": description}
	for k, v := range s {
		out[k] = v
	}
	return out
}

func object(required []string, props map[string]any) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// closed is a request body: the API rejects unknown fields, and the
// document says so.
func closed(required []string, props map[string]any) map[string]any {
	s := object(required, props)
	s["additionalProperties"] = false
	return s
}

// Live call state comes from Asterisk; while it is unreachable the last
// known state is served, marked so.
var (
	staleDoc = describeSchema(boolean(),
		"true while the phone system is unreachable: on-call state and sessions are the last known (on GET /users/{user} and in lists)")
	staleReasonDoc = describeSchema(str(), "why the state is stale; present only when stale")
	nodeDoc        = describeSchema(str(), "the Asterisk node of the call (several nodes under one Earshot); absent with one node without an id")
)
