using System.Net.Http.Headers;
using System.Text.Json;

namespace DqMlNet.Tests;

internal static class Http
{
    public static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public static ByteArrayContent Png(byte[] bytes) => new(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } };

    public static ByteArrayContent Jpeg(byte[] bytes) => new(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("image/jpeg") } };

    /// <summary>Asserts an RFC 7807 problem body with the response's status and returns it.</summary>
    public static async Task<JsonElement> Problem(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = await Json(response);
        Assert.Equal((int)response.StatusCode, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(json.GetProperty("title").GetString()));
        return json;
    }

    public static float[] Probabilities(JsonElement prediction) =>
        prediction.GetProperty("probabilities").EnumerateObject().Select(p => p.Value.GetSingle()).ToArray();
}
