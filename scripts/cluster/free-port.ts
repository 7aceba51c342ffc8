import { once } from "node:events";
import net from "node:net";

/**
 * A port free on 127.0.0.1 right now, for a process that cannot report the
 * port it was given (HAProxy), or that must keep it across restarts.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}
