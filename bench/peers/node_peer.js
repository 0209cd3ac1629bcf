// Reference peer for the load tool: bare sockjs-node doing the same fan-out as the game.
//
// Trivial protocol, one JSON object per SockJS message:
//   {"join": ROOM}                    -> the connection becomes a member of ROOM; reply {"msg":"joined"}
//   {"move": ROOM, "seq": N, "seat": S} -> every member of ROOM gets the same ~330-byte "state"
// Usage: node bench/peers/node_peer.js PORT   (prints "listening" once ready)
'use strict';
const http = require('http');
const sockjs = require('sockjs');

const port = Number(process.argv[2] || 8091);
const PAD = 'x'.repeat(270);
const rooms = new Map();

const service = sockjs.createServer({ prefix: '/sockjs', log: () => {} });
service.on('connection', (conn) => {
  let room = null;
  conn.on('data', (text) => {
    let message;
    try { message = JSON.parse(text); } catch (e) { return; }
    if (message.join !== undefined) {
      room = String(message.join);
      let members = rooms.get(room);
      if (!members) rooms.set(room, (members = new Set()));
      members.add(conn);
      conn.write(JSON.stringify({ msg: 'joined', room }));
    } else if (message.move !== undefined) {
      const members = rooms.get(String(message.move));
      if (!members) return;
      const out = JSON.stringify({ msg: 'state', room: message.move, seq: message.seq,
                                   seat: message.seat, pad: PAD });
      for (const member of members) member.write(out);
    }
  });
  conn.on('close', () => {
    const members = room && rooms.get(room);
    if (members) {
      members.delete(conn);
      if (members.size === 0) rooms.delete(room);
    }
  });
});

const server = http.createServer();
service.installHandlers(server);
server.listen(port, '127.0.0.1', 511, () => console.log(`listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
