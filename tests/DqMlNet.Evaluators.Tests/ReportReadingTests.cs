using DqMlNet.Evaluators;
using DqMlNet.Tests;
using Xunit;

namespace DqMlNet.Evaluators.Tests;

/// <summary>Report files are inputs like any other: a size bound before any allocation, and errors that name the file.</summary>
public sealed class ReportReadingTests
{
    [Fact]
    public void A_report_larger_than_the_bound_is_refused_before_it_is_read()
    {
        var dir = TestData.TempDirectory();
        try
        {
            // A sparse file one byte over the default bound: refused from its length, so the test allocates nothing.
            var huge = Path.Combine(dir, "huge.robustness.json");
            using (var f = File.Create(huge)) f.SetLength(ReportLimits.DefaultMaxReportBytes + 1);
            var e = Assert.Throws<InvalidDataException>(() => ReportWriter.ReadJson(huge, ReportLimits.DefaultMaxReportBytes));
            Assert.Contains(huge, e.Message);
            Assert.Contains("DQMLNET_MAX_REPORT_BYTES", e.Message);

            // The bound is on bytes: a valid report just over a small bound is refused, at the bound it reads.
            var small = Path.Combine(dir, "small.robustness.json");
            var report = new RobustnessReport { Model = "m", N = 3, CleanAccuracy = 2 / 3.0 };
            ReportWriter.WriteJson(report, small);
            long length = new FileInfo(small).Length;
            Assert.Throws<InvalidDataException>(() => ReportWriter.ReadJson(small, length - 1));
            Assert.Equal(3, ReportWriter.ReadJson(small, length).N);

            // Not JSON, and JSON that is not a report: typed errors naming the file.
            File.WriteAllText(small, "{ not json");
            Assert.Contains(small, Assert.Throws<InvalidDataException>(() => ReportWriter.ReadJson(small)).Message);
            File.WriteAllText(small, "{ \"foo\": 1 }");
            var notReport = Assert.Throws<InvalidDataException>(() => ReportWriter.ReadJson(small));
            Assert.Contains(small, notReport.Message);
            Assert.Contains("not a robustness report", notReport.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
