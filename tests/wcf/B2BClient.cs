// A .NET WCF client for IB2BStudentService: ChannelFactory + BasicHttpBinding, HTTP Basic.
// Build: mcs -r:System.ServiceModel -r:System.Runtime.Serialization B2BClient.cs
// Run:   mono B2BClient.exe URL USER PASSWORD FILE
// Prints one "key=value" line per result for the test to check.
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.Serialization;
using System.Security.Cryptography;
using System.ServiceModel;

namespace B2BSoap.Tests
{
    static class Ns { public const string Tns = "http://schemas.b2b-soap.org/student/2026/01"; }

    [CollectionDataContract(Namespace = Ns.Tns, ItemName = "string")]
    public class ArrayOfstring : List<string> { }

    [DataContract(Namespace = Ns.Tns)]
    public class ServerInfo
    {
        [DataMember(Order = 1)] public string ProductVersion;
        [DataMember(Order = 2)] public string ContractVersion;
        [DataMember(Order = 3)] public string LaNumber;
        [DataMember(Order = 4)] public string LaName;
        [DataMember(Order = 5)] public long? MaxFileBytes;
        [DataMember(Order = 6)] public long? MaxPartBytes;
        [DataMember(Order = 7)] public long? MaxAttainmentFileBytes;
        [DataMember(Order = 8)] public ArrayOfstring DataTypes;
        [DataMember(Order = 9)] public DateTime? ServerTimeUtc;
    }

    [DataContract(Namespace = Ns.Tns)]
    public class FileHeader
    {
        [DataMember(Order = 1)] public string FileGuid;
        [DataMember(Order = 2)] public long? TaskId;
        [DataMember(Order = 3)] public string DataType;
        [DataMember(Order = 4)] public string FileName;
        [DataMember(Order = 5)] public long? TotalBytes;
        [DataMember(Order = 6)] public string Sha256;
        [DataMember(Order = 7)] public string Compression;
        [DataMember(Order = 8)] public int? PartNumber;
        [DataMember(Order = 9)] public int? PartCount;
        [DataMember(Order = 10)] public DateTime? CreatedUtc;
    }

    [DataContract(Namespace = Ns.Tns)]
    public class FileReceipt
    {
        [DataMember(Order = 1)] public string FileId;
        [DataMember(Order = 2)] public string Status;
        [DataMember(Order = 3)] public bool? IsDuplicate;
        [DataMember(Order = 4)] public int? PartsReceived;
        [DataMember(Order = 5)] public DateTime? ReceivedUtc;
    }

    [DataContract(Namespace = Ns.Tns)]
    public class FileError
    {
        [DataMember(Order = 1)] public int? Line;
        [DataMember(Order = 2)] public int? Column;
        [DataMember(Order = 3)] public string Message;
    }

    [CollectionDataContract(Namespace = Ns.Tns, ItemName = "FileError")]
    public class ArrayOfFileError : List<FileError> { }

    [DataContract(Namespace = Ns.Tns)]
    public class FileStatus
    {
        [DataMember(Order = 1)] public string FileId;
        [DataMember(Order = 2)] public string FileName;
        [DataMember(Order = 3)] public string DataType;
        [DataMember(Order = 4)] public string Status;
        [DataMember(Order = 5)] public DateTime? ReceivedUtc;
        [DataMember(Order = 6)] public DateTime? ProcessedUtc;
        [DataMember(Order = 7)] public ArrayOfFileError Errors;
        [DataMember(Order = 8)] public int? PupilCount;
        [DataMember(Order = 9)] public int? MatchedCount;
        [DataMember(Order = 10)] public int? UnmatchedCount;
        [DataMember(Order = 11)] public int? ConflictCount;
    }

    [DataContract(Namespace = Ns.Tns)]
    public class B2BFault
    {
        [DataMember(Order = 1)] public string Code;
        [DataMember(Order = 2)] public string Message;
    }

    [ServiceContract(Namespace = Ns.Tns, Name = "IB2BStudentService")]
    public interface IB2BStudentService
    {
        [OperationContract(Action = Ns.Tns + "/IB2BStudentService/GetServerInfo", ReplyAction = "*")]
        [FaultContract(typeof(B2BFault), Name = "B2BFault", Namespace = Ns.Tns)]
        ServerInfo GetServerInfo();

        [OperationContract(Action = Ns.Tns + "/IB2BStudentService/UploadFile", ReplyAction = "*")]
        [FaultContract(typeof(B2BFault), Name = "B2BFault", Namespace = Ns.Tns)]
        FileReceipt UploadFile(FileHeader header, byte[] content);

        [OperationContract(Action = Ns.Tns + "/IB2BStudentService/GetFileStatus", ReplyAction = "*")]
        [FaultContract(typeof(B2BFault), Name = "B2BFault", Namespace = Ns.Tns)]
        FileStatus GetFileStatus(string fileId);
    }

    static class Program
    {
        static int Main(string[] args)
        {
            var binding = new BasicHttpBinding(BasicHttpSecurityMode.TransportCredentialOnly);
            binding.Security.Transport.ClientCredentialType = HttpClientCredentialType.Basic;
            binding.MaxReceivedMessageSize = 64 * 1024 * 1024;
            var factory = new ChannelFactory<IB2BStudentService>(binding, new EndpointAddress(args[0]));
            factory.Credentials.UserName.UserName = args[1];
            factory.Credentials.UserName.Password = args[2];
            var client = factory.CreateChannel();

            var info = client.GetServerInfo();
            Console.WriteLine("LaNumber=" + info.LaNumber);
            Console.WriteLine("LaName=" + info.LaName);
            Console.WriteLine("MaxPartBytes=" + info.MaxPartBytes);
            Console.WriteLine("DataTypes=" + string.Join(",", info.DataTypes));
            Console.WriteLine("ServerTimeKind=" + info.ServerTimeUtc.Value.Kind);

            var data = File.ReadAllBytes(args[3]);
            string sha;
            using (var h = SHA256.Create())
                sha = BitConverter.ToString(h.ComputeHash(data)).Replace("-", "").ToLowerInvariant();
            var header = new FileHeader {
                FileGuid = Guid.NewGuid().ToString(), DataType = "Student", FileName = Path.GetFileName(args[3]),
                TotalBytes = data.Length, Sha256 = sha, Compression = "None", PartNumber = 1, PartCount = 1,
                CreatedUtc = DateTime.UtcNow };
            var receipt = client.UploadFile(header, data);
            Console.WriteLine("FileId=" + receipt.FileId);
            Console.WriteLine("Status=" + receipt.Status);
            Console.WriteLine("IsDuplicate=" + receipt.IsDuplicate);
            Console.WriteLine("PartsReceived=" + receipt.PartsReceived);

            var status = client.GetFileStatus(receipt.FileId);
            Console.WriteLine("StatusFileName=" + status.FileName);
            Console.WriteLine("StatusStatus=" + status.Status);
            Console.WriteLine("StatusErrors=" + (status.Errors == null ? 0 : status.Errors.Count));

            try {
                client.GetFileStatus(Guid.NewGuid().ToString());
                Console.WriteLine("FaultCode=none");
            } catch (FaultException<B2BFault> fault) {
                Console.WriteLine("FaultCode=" + fault.Detail.Code);
            }
            ((IClientChannel)client).Close();
            return 0;
        }
    }
}
