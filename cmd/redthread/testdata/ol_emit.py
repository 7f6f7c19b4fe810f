"""Emit OpenLineage events to Redthread with the real openlineage-python client.

Used by the end-to-end test (cmd/redthread/e2e_test.go): it sends events with
the client's HTTP transport, gzip on, exactly as a producer that targets
Marquez would, and prints what it sent as JSON so the test can check the graph.

Usage: python ol_emit.py URL API_KEY
"""

import json
import sys
import uuid
from datetime import datetime, timezone

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    dataset_version_dataset,
    parent_run,
    schema_dataset,
    sql_job,
)
from openlineage.client.transport.http import HttpCompression, HttpConfig, HttpTransport

PRODUCER = "https://example.invalid/redthread-e2e/ol_emit"


def main() -> None:
    url, api_key = sys.argv[1], sys.argv[2]
    config = HttpConfig.from_dict(
        {
            "url": url,
            "compression": "gzip",
            "auth": {"type": "api_key", "apiKey": api_key},
            "timeout": 10,
        }
    )
    assert config.compression == HttpCompression.GZIP
    client = OpenLineageClient(transport=HttpTransport(config))

    now = datetime.now(timezone.utc).isoformat()
    dag_run = str(uuid.uuid4())
    task_run = str(uuid.uuid4())
    namespace = "airflow://e2e-scheduler:8080"
    source_ns = "postgres://warehouse.e2e:5432"

    orders = InputDataset(
        namespace=source_ns,
        name="shop.public.pedidos_são_paulo",
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="snap-2025-11-12")},
    )
    features = OutputDataset(
        namespace="s3://feature-store-e2e",
        name="risk/features_v1",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name="customer_id", type="BIGINT"),
                    schema_dataset.SchemaDatasetFacetFields(name="total_gasto", type="DECIMAL"),
                ]
            ),
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    "total_gasto": column_lineage_dataset.Fields(
                        inputFields=[
                            column_lineage_dataset.InputField(
                                namespace=source_ns,
                                name="shop.public.pedidos_são_paulo",
                                field="valor",
                                transformations=[
                                    column_lineage_dataset.Transformation(type="INDIRECT", subtype="AGGREGATION")
                                ],
                            )
                        ]
                    )
                }
            ),
        },
    )
    job = Job(
        namespace=namespace,
        name="risk_features.build",
        facets={"sql": sql_job.SQLJobFacet(query="SELECT customer_id, sum(valor) FROM pedidos GROUP BY 1")},
    )
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=dag_run),
        job=parent_run.Job(namespace=namespace, name="risk_features"),
    )
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=now,
                run=Run(runId=task_run, facets={"parent": parent}),
                job=job,
                producer=PRODUCER,
                inputs=[orders],
                outputs=[features],
            )
        )
    client.emit(
        DatasetEvent(
            eventTime=now,
            producer=PRODUCER,
            dataset=StaticDataset(namespace=source_ns, name="shop.public.clientes"),
        )
    )
    client.emit(
        JobEvent(
            eventTime=now,
            producer=PRODUCER,
            job=Job(namespace=namespace, name="risk_features.publish"),
            inputs=[InputDataset(namespace="s3://feature-store-e2e", name="risk/features_v1")],
            outputs=[],
        )
    )
    json.dump(
        {
            "task_run": task_run,
            "dag_run": dag_run,
            "job_namespace": namespace,
            "job_name": "risk_features.build",
            "input": [source_ns, "shop.public.pedidos_são_paulo", "snap-2025-11-12"],
            "output": ["s3://feature-store-e2e", "risk/features_v1"],
            "dataset_event": [source_ns, "shop.public.clientes"],
            "job_event": [namespace, "risk_features.publish"],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
