namespace EvalMesh.Inference.Llama;

/// <summary>What a model host has done since it started.</summary>
/// <param name="PromptTokensDecoded">Prompt tokens decoded; a reused prefix counts once.</param>
/// <param name="TokensGenerated">Tokens sampled.</param>
/// <param name="DecodeCalls">llama.cpp decode calls.</param>
public sealed record InferenceStats(long PromptTokensDecoded, long TokensGenerated, long DecodeCalls);
