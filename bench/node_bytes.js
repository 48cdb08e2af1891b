// The machine's ceiling for these bytes: Node's own `http` server answering
// every request with a file's bytes, read once at start. No framework, no
// routing, no logging; one process.
//
//   node bench/node_bytes.js <port> <body-file>
"use strict";
const fs = require("fs");
const http = require("http");

const port = Number(process.argv[2]);
const body = fs.readFileSync(process.argv[3]);
const headers = { "Content-Type": "application/json", "Content-Length": body.length };

http
  .createServer((req, res) => {
    // Read (and drop) any request body before answering, as every other server does.
    req.on("data", () => {});
    req.on("end", () => {
      res.writeHead(200, headers);
      res.end(body);
    });
  })
  .listen(port, "127.0.0.1");
