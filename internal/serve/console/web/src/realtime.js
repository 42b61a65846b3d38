// A minimal client of AppSync's real-time protocol (graphql-ws flavour), as
// dsgen serve speaks it at /graphql/realtime: auth headers in the
// "header-<base64url>" sub-protocol, connection_init/ack, start/start_ack,
// data, error, stop/complete and ka keep-alives.

function b64url(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

let nextID = 0;

export class Realtime {
  // headers are the credentials (x-api-key or Authorization); onState
  // hears "connecting", "listening", "closed: …".
  constructor(headers, onState) {
    this.headers = { host: location.host, ...headers };
    this.onState = onState || (() => {});
    this.subs = new Map();
    this.acked = false;
    this.closed = false;
    this.onState("connecting");
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql/realtime";
    this.ws = new WebSocket(url, ["graphql-ws", "header-" + b64url(JSON.stringify(this.headers))]);
    this.ws.onopen = () => this.send({ type: "connection_init" });
    this.ws.onmessage = (e) => this.receive(JSON.parse(e.data));
    this.ws.onclose = (e) => {
      if (!this.closed) this.onState("closed: " + (e.reason || "code " + e.code));
    };
  }

  send(msg) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  start(id, sub) {
    this.send({
      id, type: "start",
      payload: { data: JSON.stringify({ query: sub.query, variables: sub.variables }), extensions: { authorization: this.headers } },
    });
  }

  receive(m) {
    const sub = m.id ? this.subs.get(m.id) : undefined;
    switch (m.type) {
      case "connection_ack":
        this.acked = true;
        this.onState("listening");
        for (const [id, s] of this.subs) this.start(id, s);
        break;
      case "connection_error":
        this.onState("refused: " + ((m.payload && m.payload.errors) || []).map((e) => e.message).join("; "));
        break;
      case "start_ack":
        if (sub && sub.handlers.ack) sub.handlers.ack();
        break;
      case "data":
        if (sub && sub.handlers.data) sub.handlers.data(m.payload);
        break;
      case "error":
        if (sub) {
          this.subs.delete(m.id);
          if (sub.handlers.error) sub.handlers.error((m.payload && m.payload.errors) || []);
        }
        break;
      case "complete":
        this.subs.delete(m.id);
        break;
    }
  }

  // subscribe starts a subscription (once the connection is acknowledged)
  // and returns its id.
  subscribe(query, variables, handlers) {
    const id = "console-" + ++nextID;
    const s = { query, variables, handlers };
    this.subs.set(id, s);
    if (this.acked) this.start(id, s);
    return id;
  }

  close() {
    this.closed = true;
    this.ws.close(1000, "console closed");
  }
}
