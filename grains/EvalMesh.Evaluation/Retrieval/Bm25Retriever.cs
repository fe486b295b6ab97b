using System.Text.Json.Nodes;
using EvalMesh.Evaluation.Formats;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Analysis.Util;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;

namespace EvalMesh.Evaluation.Retrieval;

/// <summary>
/// Chooses the records a question is given: the <c>k</c> best by BM25 (k1 = 1.2, b = 0.75) over each record's flattened
/// keys and values, with Lucene.NET's standard analyzer (lower case, Unicode word breaks, each CJK ideograph a word).
/// Lucene.NET (Apache-2.0) is the long-kept .NET port of the search library that defined BM25's common parameters, so
/// the ranking is the one users know from Elasticsearch and Solr rather than our own variant.
/// </summary>
public sealed class Bm25Retriever : IDisposable
{
    private const LuceneVersion Version = LuceneVersion.LUCENE_48;
    private const string Text = "text";
    private const string Number = "number";

    private readonly Analyzer _analyzer = new StandardAnalyzer(Version, CharArraySet.Empty);
    private readonly RAMDirectory _index = new();
    private readonly DirectoryReader _reader;
    private readonly IndexSearcher _searcher;

    /// <summary>Indexes the records (numbered from 1 in the order given).</summary>
    public Bm25Retriever(IReadOnlyList<JsonObject> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        using (var writer = new IndexWriter(_index, new IndexWriterConfig(Version, _analyzer) { Similarity = new BM25Similarity() }))
        {
            for (var i = 0; i < records.Count; i++)
            {
                var text = string.Join('\n', FlatRecords.Flatten(records[i]).Select(field => $"{field.Key} {field.Value}"));
                writer.AddDocument([new StoredField(Number, i + 1), new TextField(Text, text, Field.Store.NO)]);
            }
        }

        _reader = DirectoryReader.Open(_index);
        _searcher = new IndexSearcher(_reader) { Similarity = new BM25Similarity() };
    }

    /// <summary>The numbers (1-based, ascending) of the <paramref name="k"/> records that best match the question.</summary>
    public IReadOnlyList<int> Retrieve(string question, int k)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var query = new BooleanQuery();
        foreach (var term in Terms(question).Distinct(StringComparer.Ordinal).Take(BooleanQuery.MaxClauseCount))
        {
            query.Add(new TermQuery(new Term(Text, term)), Occur.SHOULD);
        }

        return query.Clauses.Count == 0
            ? []
            : [.. _searcher.Search(query, k).ScoreDocs.Select(hit => _searcher.Doc(hit.Doc).GetField(Number).GetInt32Value()!.Value).Order()];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _reader.Dispose();
        _index.Dispose();
        _analyzer.Dispose();
    }

    private List<string> Terms(string text)
    {
        var terms = new List<string>();
        using var stream = _analyzer.GetTokenStream(Text, text);
        var term = stream.AddAttribute<ICharTermAttribute>();
        stream.Reset();
        while (stream.IncrementToken())
        {
            terms.Add(term.ToString());
        }

        stream.End();
        return terms;
    }
}
