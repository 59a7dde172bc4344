// Preloaded into supergateway (`node --import`): it listens with `app.listen(port)`, i.e.
// on every interface, and has no flag to choose the address. This makes a listen() call
// without a host bind 127.0.0.1 instead, so the benchmark never opens a public port.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
