// Node's `soap` package against the running server, as a Node integrator would call it:
//   node client.js WSDL_URL USERNAME PASSWORD FILE
// GetServerInfo, UploadFile (FILE, one part), GetFileStatus, then two faults: a wrong password
// (AuthenticationFailed) and the same FileGuid with other bytes (DuplicateFile). Prints one JSON
// object on stdout; any unexpected error ends with exit status 1 and the error on stderr.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const soap = require("soap");

const [wsdlUrl, username, password, path] = process.argv.slice(2);

async function client(pass) {
  const made = await soap.createClientAsync(wsdlUrl);
  made.setSecurity(new soap.WSSecurity(username, pass, { passwordType: "PasswordText", hasTimeStamp: false }));
  return made;
}

function header(data, guid) {
  return {
    FileGuid: guid,
    DataType: "Student",
    FileName: "pupils.xml",
    TotalBytes: data.length,
    Sha256: crypto.createHash("sha256").update(data).digest("hex"),
    Compression: "None",
    PartNumber: 1,
    PartCount: 1,
  };
}

async function fault(call) {
  try {
    await call();
  } catch (error) {
    const body = error.root && error.root.Envelope && error.root.Envelope.Body;
    if (!body || !body.Fault) throw error;
    const detail = body.Fault.detail && body.Fault.detail.B2BFault;
    return { faultstring: body.Fault.faultstring, code: detail && detail.Code, message: detail && detail.Message };
  }
  throw new Error("the call succeeded; a fault was expected");
}

async function main() {
  const school = await client(password);
  const [info] = await school.GetServerInfoAsync({});
  const data = fs.readFileSync(path);
  const guid = crypto.randomUUID();
  const [upload] = await school.UploadFileAsync({ header: header(data, guid), content: data.toString("base64") });
  const receipt = upload.UploadFileResult;
  const [status] = await school.GetFileStatusAsync({ fileId: receipt.FileId });
  const intruder = await client(password + "-wrong");
  const other = Buffer.concat([data, Buffer.from("\n")]);
  const result = {
    info: info.GetServerInfoResult,
    receipt,
    status: status.GetFileStatusResult,
    wrongPassword: await fault(() => intruder.GetServerInfoAsync({})),
    duplicate: await fault(() => school.UploadFileAsync({ header: header(other, guid), content: other.toString("base64") })),
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error) + "\n");
  process.exit(1);
});
