// Starts GraphiQL against this server. A file of its own, not an inline script, so the page
// runs under `script-src 'self'`. Queries and mutations go to POST /graphql; subscriptions run
// over /graphql/ws (graphql-transport-ws). Browsers cannot set headers on a WebSocket, so the
// Authorization header typed in GraphiQL's headers editor travels as the connection_init
// payload, where the server reads it.
(function () {
  'use strict';

  var socketUrl =
    (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/graphql/ws';

  var http = GraphiQL.createFetcher({ url: '/graphql', enableIncrementalDelivery: false });

  // One lazy client per Authorization value: it opens its socket for the first subscription
  // and closes it after the last, so a changed token simply starts a new connection.
  var socketClients = new Map();

  function authorizationOf(headers) {
    var names = Object.keys(headers || {});
    for (var i = 0; i < names.length; i++) {
      if (names[i].toLowerCase() === 'authorization') {
        return String(headers[names[i]]);
      }
    }
    return '';
  }

  // A dropped socket is retried (graphql-ws backs off); a refused token (4403) would only be
  // refused again, so it is shown at once.
  function isRetryable(reason) {
    return Boolean(reason) && typeof reason.code === 'number' && reason.code !== 4403;
  }

  function socketClient(authorization) {
    var client = socketClients.get(authorization);
    if (!client) {
      client = graphqlWs.createClient({
        url: socketUrl,
        lazy: true,
        connectionParams: authorization ? { Authorization: authorization } : {},
        shouldRetry: isRetryable,
      });
      socketClients.set(authorization, client);
    }
    return client;
  }

  // The operation GraphiQL is about to run: the named one, or the only one.
  function isSubscription(params, options) {
    var document = options && options.documentAST;
    if (!document) {
      return false;
    }
    var operations = document.definitions.filter(function (d) {
      return d.kind === 'OperationDefinition';
    });
    var chosen = params.operationName
      ? operations.find(function (o) {
          return o.name && o.name.value === params.operationName;
        })
      : operations.length === 1
        ? operations[0]
        : undefined;
    return Boolean(chosen) && chosen.operation === 'subscription';
  }

  // What the result pane shows when the socket, not the operation, failed.
  function socketFailure(reason) {
    if (reason instanceof Error) {
      return reason.message;
    }
    if (reason && typeof reason.code === 'number') {
      var detail = reason.reason ? ': ' + reason.reason : '';
      return 'WebSocket closed with ' + reason.code + detail;
    }
    return 'could not connect to ' + socketUrl;
  }

  function subscribe(params, headers) {
    var client = socketClient(authorizationOf(headers));
    return {
      subscribe: function (sink) {
        var unsubscribe = client.subscribe(params, {
          next: function (result) {
            sink.next(result);
          },
          complete: function () {
            sink.complete();
          },
          // Both GraphQL errors (an `error` message) and a failed socket end the operation
          // and show as a result, like errors from /graphql do.
          error: function (reason) {
            var errors = Array.isArray(reason) ? reason : [{ message: socketFailure(reason) }];
            sink.next({ errors: errors });
            sink.complete();
          },
        });
        return { unsubscribe: unsubscribe };
      },
    };
  }

  function fetcher(params, options) {
    if (isSubscription(params, options)) {
      return subscribe(params, options.headers);
    }
    return http(params, options);
  }

  var defaultQuery = [
    '# Smart Factory GraphQL.',
    '#',
    '# Without a token, development servers run requests as an admin. To call as a user,',
    '# log in (mutation login) and put the access token in the Headers tab below:',
    '#   {"Authorization": "Bearer <accessToken>"}',
    '# It is sent on every request, and as the connection_init payload for subscriptions.',
    '',
    '{',
    '  workshops {',
    '    totalCount',
    '  }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: 'headers',
    }),
  );
})();
