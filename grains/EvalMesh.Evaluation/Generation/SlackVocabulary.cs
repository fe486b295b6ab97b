namespace EvalMesh.Evaluation.Generation;

/// <summary>The people, channels and phrases the Slack-style generator draws from.</summary>
internal static class SlackVocabulary
{
    public sealed record User(string Id, string DisplayName, string RealName, string Title);

    public sealed record Channel(string Id, string Name);

    /// <summary>A topic: the keyword that every one of its texts contains (and no other text does), and its texts.</summary>
    public sealed record Topic(string Keyword, string[] English, string[] Japanese);

    public const string TeamId = "T024BE7LD";

    public static readonly User[] Users =
    [
        new("U089VWX0YZA", "yuki", "Yuki Tanaka", "Data Engineer"),
        new("U01A2B3C4D5", "maria.g", "Maria Garcia", "ML Engineer"),
        new("U02QRSTUV6W", "ken", "Kenji Sato", "SRE"),
        new("U03HJKLMN7P", "alex", "Alex Chen", "Platform Lead"),
        new("U04XYZ8ABCD", "priya", "Priya Nair", "Analyst"),
        new("U05EFGH9IJK", "tom.b", "Tom Becker", "Backend Engineer"),
        new("U06LMNOP0QR", "aiko", "Aiko Suzuki", "Product Manager"),
        new("U07STUV1WXY", "sam", "Sam Okafor", "Research Scientist"),
    ];

    public static readonly Channel[] Channels =
    [
        new("C05A1B2C3D4", "data-eng"),
        new("C06E5F6G7H8", "incidents"),
        new("C07J9K0L1M2", "ml-platform"),
        new("C08N3P4Q5R6", "random"),
    ];

    public static readonly Topic[] Topics =
    [
        new("BigQuery",
            ["The BigQuery job for daily_events failed again with quotaExceeded.", "Can someone review my BigQuery view? It scans 2 TB per run.", "Moved the sessions table to a partitioned BigQuery table, queries are 4x cheaper now."],
            ["BigQueryのコスト、先月より30%増えてます。パーティション切った方がいいかも。", "BigQueryのスロット不足で夜間バッチが遅延しています。"]),
        new("Kubernetes",
            ["Kubernetes node pool upgrade is scheduled for Thursday 10:00 UTC.", "Pods keep getting OOMKilled after the Kubernetes 1.31 bump.", "Does anyone have the Kubernetes dashboard link for staging?"],
            ["Kubernetesのノードが一台NotReadyになっています。確認お願いします。", "Kubernetesのマニフェストをkustomizeに移行しました。"]),
        new("Terraform",
            ["Terraform plan shows 14 resources to destroy, please do not apply yet.", "I pinned the Terraform provider to 5.x until the state migration is done."],
            ["Terraformのstateがロックされたままです。誰か作業中ですか？"]),
        new("Snowflake",
            ["Snowflake warehouse auto-suspend is now 60 seconds.", "The Snowflake share for the finance team is live."],
            ["Snowflakeへの移行計画のドキュメントを更新しました。"]),
        new("Airflow",
            ["Airflow DAG ingest_orders is stuck in queued since 03:00.", "Upgraded Airflow to 2.10, the scheduler feels much faster."],
            ["Airflowのリトライ設定を3回に変更しました。"]),
        new("Grafana",
            ["Added a Grafana panel for p95 latency per adapter.", "Grafana alert for disk usage fired twice tonight, both false positives."],
            ["Grafanaのダッシュボードに新しいパネルを追加しました。"]),
        new("LoRA",
            ["The new LoRA adapter for support tickets beats the base model by 6 points.", "Which rank should we use for the LoRA on the 8B model? 16 or 64?"],
            ["LoRAアダプタの評価結果を共有します。フォーマットごとの差は小さそうです。"]),
    ];

    /// <summary>Texts that mention none of the topics' keywords.</summary>
    public static readonly string[] SmallTalkEnglish =
    [
        "Lunch at the ramen place today?",
        "Reminder: stand-up moves to 9:45 tomorrow.",
        "Thanks everyone for the help yesterday!",
        "I'll be out on Friday, ping me by email if urgent.",
        "Welcome to the team, glad to have you here.",
    ];

    public static readonly string[] SmallTalkJapanese =
    [
        "今日のランチどこ行きますか？",
        "明日の定例は10時からに変更です。",
        "昨日は対応ありがとうございました！",
    ];

    public static readonly string[] FollowUps =
    [
        "Let me know what you think.",
        "I can pair on it after lunch.",
        "Details in the doc.",
        "Not urgent.",
        "cc the on-call.",
        "Will update here once done.",
    ];

    public static readonly string[] Replies =
    [
        "Looking into it now.",
        "+1, seeing the same thing.",
        "Fixed, can you check again?",
        "確認します。",
        "ありがとうございます、助かりました！",
        "I think this is related to last week's change.",
        "Can we move this to a ticket?",
    ];

    public static readonly string[] Reactions = ["eyes", "white_check_mark", "pray", "tada", "+1"];
}
