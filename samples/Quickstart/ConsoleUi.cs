using Spectre.Console;

namespace DqMlNet.Samples.Quickstart;

/// <summary>Reports a stage's progress: fraction done in [0, 1], a short status, and whether it is a milestone worth a line in plain output.</summary>
internal delegate void StageUpdate(double fraction, string status, bool milestone);

/// <summary>
/// Console output: Spectre.Console progress bars and tables on an interactive terminal; plain, line-by-line text
/// (milestones only, Markdown tables) when the output is redirected or <c>--plain</c> is given.
/// </summary>
internal sealed class ConsoleUi(bool plain)
{
    public bool Interactive { get; } = !plain && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public void Line(string text = "")
    {
        if (Interactive) AnsiConsole.MarkupLine(Markup.Escape(text));
        else Console.WriteLine(text);
    }

    public void Heading(string text)
    {
        if (Interactive) AnsiConsole.Write(new Rule(Markup.Escape(text)).LeftJustified());
        else Console.WriteLine($"== {text} ==");
    }

    /// <summary>Runs <paramref name="body"/> with a progress bar named <paramref name="name"/>.</summary>
    public T Stage<T>(string name, Func<StageUpdate, T> body)
    {
        if (!Interactive)
        {
            string last = "";
            return body((fraction, status, milestone) =>
            {
                if (!milestone || status == last) return;
                last = status;
                Console.WriteLine($"{name}: {status}");
            });
        }
        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(name), maxValue: 1);
                var result = body((fraction, status, _) =>
                {
                    task.Value = Math.Clamp(fraction, 0, 1);
                    task.Description = Markup.Escape($"{name}: {status}");
                });
                task.Value = 1;
                return result;
            });
    }

    /// <summary>Prints a table: a Spectre table when interactive, else the Markdown form.</summary>
    public void Table(string title, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        if (!Interactive)
        {
            Console.WriteLine(title);
            Console.WriteLine();
            Console.WriteLine(Markdown.Table(header, rows));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title));
        for (int i = 0; i < header.Count; i++)
        {
            var column = new TableColumn(Markup.Escape(header[i]));
            if (i > 0) column.RightAligned();
            table.AddColumn(column);
        }
        foreach (var row in rows) table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
    }

    public void Error(string message)
    {
        if (Interactive) AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        else Console.Error.WriteLine($"error: {message}");
    }
}

/// <summary>Markdown helpers.</summary>
internal static class Markdown
{
    public static string Table(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("| ").AppendJoin(" | ", header).AppendLine(" |");
        sb.Append("|---").Append(string.Concat(Enumerable.Repeat("|--:", header.Count - 1))).AppendLine("|");
        foreach (var row in rows) sb.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|"))).AppendLine(" |");
        return sb.ToString();
    }
}
