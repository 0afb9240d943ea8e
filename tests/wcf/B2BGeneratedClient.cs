// Calls all nine IB2BStudentService operations through the client that Mono's svcutil generates
// from the served WSDL (the test generates it: svcutil -o:Generated.cs URL?wsdl), over
// BasicHttpBinding with HTTP Basic, as a .NET school client would.
// Build: mcs -r:System.ServiceModel -r:System.Runtime.Serialization Generated.cs B2BGeneratedClient.cs
// Run:   mono B2BGeneratedClient.exe URL USER PASSWORD FILE
// Prints one "key=value" line per result for the test to check.
using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Runtime.Serialization;
using System.ServiceModel;
using schemas.b2bsoap.org.student._2026._01;

namespace B2BSoap.Tests
{
    // The typed fault detail; the test adds FaultContract(typeof(B2BFault)) to the generated operations.
    [DataContract(Namespace = "http://schemas.b2b-soap.org/student/2026/01")]
    public class B2BFault
    {
        [DataMember(Order = 1)] public string Code;
        [DataMember(Order = 2)] public string Message;
    }

    static class Program
    {
        static string Sha256Hex(byte[] data)
        {
            using (var h = SHA256.Create())
                return BitConverter.ToString(h.ComputeHash(data)).Replace("-", "").ToLowerInvariant();
        }

        static void Print(string key, object value) { Console.WriteLine(key + "=" + value); }

        static int Main(string[] args)
        {
            var binding = new BasicHttpBinding(BasicHttpSecurityMode.TransportCredentialOnly);
            binding.Security.Transport.ClientCredentialType = HttpClientCredentialType.Basic;
            binding.MaxReceivedMessageSize = 64 * 1024 * 1024;
            var client = new B2BStudentServiceClient(binding, new EndpointAddress(args[0]));
            client.ClientCredentials.UserName.UserName = args[1];
            client.ClientCredentials.UserName.Password = args[2];

            var info = client.GetServerInfo();
            Print("LaNumber", info.LaNumber);
            Print("LaName", info.LaName);
            Print("MaxPartBytes", info.MaxPartBytes);
            Print("DataTypes", string.Join(",", info.DataTypes));
            Print("ServerTimeKind", info.ServerTimeUtc.Value.Kind);

            var saved = client.SaveScheduledTask(new ScheduledTask {
                TaskId = 0, Name = "WCF census", DataType = "Student", Direction = "Export", Enabled = true,
                Frequency = "Daily", TimeOfDay = "02:00", IncludeLeavers = false });
            Print("SavedOwner", saved.Owner);
            Print("SavedVersion", saved.Version);
            Print("Tasks", string.Join(",", client.GetScheduledTasks().Select(t => t.TaskId + ":" + t.Name)));
            client.DeleteScheduledTask(saved.TaskId);
            Print("TasksAfterDelete", client.GetScheduledTasks().Length);
            Print("SavedTaskId", saved.TaskId);

            var data = File.ReadAllBytes(args[3]);
            var header = new FileHeader {
                FileGuid = Guid.NewGuid().ToString(), DataType = "Student", FileName = Path.GetFileName(args[3]),
                TotalBytes = data.Length, Sha256 = Sha256Hex(data), Compression = "None", PartNumber = 1,
                PartCount = 1, CreatedUtc = DateTime.UtcNow };
            var receipt = client.UploadFile(header, data);
            Print("Status", receipt.Status);
            Print("IsDuplicate", receipt.IsDuplicate);
            Print("PartsReceived", receipt.PartsReceived);
            var status = client.GetFileStatus(receipt.FileId);
            Print("StatusFileName", status.FileName);
            Print("StatusStatus", status.Status);
            Print("StatusErrors", status.Errors == null ? 0 : status.Errors.Length);

            var pending = client.GetPendingDownloads();
            Print("Pending", string.Join(",", pending.Select(d => d.FileName)));
            var download = client.DownloadFile(pending[0].FileId);
            Print("DownloadSha256", Sha256Hex(download.Content));
            Print("DownloadName", download.Info.FileName);
            client.AcknowledgeDownload(pending[0].FileId);
            Print("PendingAfterAcknowledge", client.GetPendingDownloads().Length);

            try {
                client.GetFileStatus(Guid.NewGuid().ToString());
                Print("FaultCode", "none");
            } catch (FaultException<B2BFault> fault) {
                Print("FaultCode", fault.Detail.Code);
            }
            client.Close();
            return 0;
        }
    }
}
