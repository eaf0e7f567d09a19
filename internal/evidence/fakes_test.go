package evidence_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go"
)

// noMetrics answers GetMetricData with no data.
type noMetrics struct{}

func (noMetrics) GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return &cloudwatch.GetMetricDataOutput{}, nil
}

// deniedMetrics refuses GetMetricData.
type deniedMetrics struct{}

func (deniedMetrics) GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User is not authorized to perform cloudwatch:GetMetricData"}
}

// widgetImages is a small local fake of GetMetricWidgetImage, which moto
// does not serve: it keeps the widget asked for and answers a PNG.
type widgetImages struct {
	widget string
	png    []byte
}

func (w *widgetImages) GetMetricWidgetImage(_ context.Context, in *cloudwatch.GetMetricWidgetImageInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricWidgetImageOutput, error) {
	w.widget = *in.MetricWidget
	return &cloudwatch.GetMetricWidgetImageOutput{MetricWidgetImage: w.png}, nil
}
