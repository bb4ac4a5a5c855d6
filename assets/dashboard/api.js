// The wall screen's link to the server: GraphQL over HTTP (`POST /graphql`) and a
// graphql-transport-ws client for `/graphql/ws` that re-subscribes everything after a
// reconnect, backing off exponentially (1 s doubling to 30 s, with jitter).
"use strict";

window.SF = window.SF || {};

(function (SF) {
  const TOKEN_KEY = "sf.dashboard.token";
  const DEV_KEY = "sf.dashboard.dev";

  /** The session: the access token (sessionStorage, so it dies with the tab) or the dev admin. */
  const session = {
    token() {
      return sessionStorage.getItem(TOKEN_KEY);
    },
    isDevAdmin() {
      return sessionStorage.getItem(DEV_KEY) === "1";
    },
    signedIn() {
      return !!this.token() || this.isDevAdmin();
    },
    setToken(token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      sessionStorage.removeItem(DEV_KEY);
    },
    setDevAdmin() {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.setItem(DEV_KEY, "1");
    },
    clear() {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(DEV_KEY);
    },
    headers() {
      const token = this.token();
      return token ? { Authorization: "Bearer " + token } : {};
    },
  };

  /** A GraphQL error with the server's `extensions.code`. */
  class GraphqlError extends Error {
    constructor(errors) {
      const first = (errors && errors[0]) || {};
      super(first.message || "request failed");
      this.code = (first.extensions && first.extensions.code) || "UNKNOWN";
      this.errors = errors;
    }
  }

  /** Runs a query or mutation over HTTP; resolves with `data`, rejects with a GraphqlError. */
  async function graphql(query, variables) {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: Object.assign({ "content-type": "application/json" }, session.headers()),
      body: JSON.stringify({ query, variables: variables || {} }),
    });
    let body;
    try {
      body = await response.json();
    } catch (_) {
      throw new GraphqlError([{ message: "HTTP " + response.status }]);
    }
    if (body.errors && body.errors.length) {
      const error = new GraphqlError(body.errors);
      error.data = body.data;
      throw error;
    }
    return body.data;
  }

  /**
   * One socket for every live panel. `subscribe(query, variables, onData, onError)` returns a
   * function that stops it; subscriptions live across reconnects. `onState(state, detail)` hears
   * "connecting", "open", "closed" (retrying) and "unauthorized" (4403: the token is no good).
   */
  class Live {
    constructor(onState) {
      this.onState = onState;
      this.subs = new Map();
      this.nextId = 1;
      this.socket = null;
      this.acked = false;
      this.attempt = 0;
      this.timer = null;
      this.stopped = true;
    }

    start() {
      this.stopped = false;
      this.attempt = 0;
      this.connect();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      this.subs.clear();
      if (this.socket) this.socket.close(1000, "signed out");
      this.socket = null;
    }

    connect() {
      clearTimeout(this.timer);
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(scheme + "//" + location.host + "/graphql/ws", "graphql-transport-ws");
      this.socket = socket;
      this.acked = false;
      this.onState("connecting");
      socket.onopen = () => {
        socket.send(JSON.stringify({ type: "connection_init", payload: session.headers() }));
      };
      socket.onmessage = (event) => this.receive(socket, event.data);
      socket.onclose = (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        this.acked = false;
        if (this.stopped) return;
        if (event.code === 4403) {
          this.onState("unauthorized", event.reason);
          return;
        }
        this.retry(event.code);
      };
    }

    retry(code) {
      const base = Math.min(30000, 1000 * Math.pow(2, this.attempt));
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.attempt += 1;
      this.onState("closed", { code, retryInMs: delay });
      this.timer = setTimeout(() => this.connect(), delay);
    }

    receive(socket, text) {
      let message;
      try {
        message = JSON.parse(text);
      } catch (_) {
        return;
      }
      switch (message.type) {
        case "connection_ack":
          this.acked = true;
          this.attempt = 0;
          this.onState("open");
          for (const [id, sub] of this.subs) this.send(id, sub);
          break;
        case "ping":
          socket.send(JSON.stringify({ type: "pong" }));
          break;
        case "next": {
          const sub = this.subs.get(message.id);
          if (!sub) break;
          const payload = message.payload || {};
          if (payload.errors && payload.errors.length) sub.onError(new GraphqlError(payload.errors));
          if (payload.data) sub.onData(payload.data);
          break;
        }
        case "error": {
          const sub = this.subs.get(message.id);
          if (sub) {
            this.subs.delete(message.id);
            sub.onError(new GraphqlError(message.payload));
          }
          break;
        }
        case "complete":
          // The server ended it (shutdown or a revoked scope): it comes back with the socket.
          break;
        default:
          break;
      }
    }

    send(id, sub) {
      if (!this.socket || !this.acked) return;
      this.socket.send(
        JSON.stringify({ id, type: "subscribe", payload: { query: sub.query, variables: sub.variables } }),
      );
    }

    subscribe(query, variables, onData, onError) {
      const id = String(this.nextId++);
      const sub = { query, variables: variables || {}, onData, onError: onError || (() => {}) };
      this.subs.set(id, sub);
      this.send(id, sub);
      return () => {
        if (!this.subs.delete(id)) return;
        if (this.socket && this.acked) this.socket.send(JSON.stringify({ id, type: "complete" }));
      };
    }
  }

  SF.session = session;
  SF.graphql = graphql;
  SF.GraphqlError = GraphqlError;
  SF.Live = Live;
})(window.SF);
