package wire

// Response (type 30) answers a command with responseRequired=true.
type Response struct {
	CommandHeader
	CorrelationID int32 // the commandId being answered
}

func (*Response) DataType() byte { return TypeResponse }
func (c *Response) marshal(w *writer) {
	c.marshalHeader(w)
	w.i32(c.CorrelationID)
}
func (c *Response) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.CorrelationID = r.i32()
}

// ExceptionResponse (type 31) answers a command that failed.
type ExceptionResponse struct {
	CommandHeader
	CorrelationID int32
	Exception     *Throwable
}

func (*ExceptionResponse) DataType() byte { return TypeExceptionResponse }
func (c *ExceptionResponse) marshal(w *writer) {
	c.marshalHeader(w)
	w.i32(c.CorrelationID)
	w.throwable(c.Exception)
}
func (c *ExceptionResponse) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.CorrelationID = r.i32()
	c.Exception = r.throwable()
}

// DataResponse (type 32) answers with one data structure.
type DataResponse struct {
	CommandHeader
	CorrelationID int32
	Data          DataStructure
}

func (*DataResponse) DataType() byte { return TypeDataResponse }
func (c *DataResponse) marshal(w *writer) {
	c.marshalHeader(w)
	w.i32(c.CorrelationID)
	w.nested(c.Data)
}
func (c *DataResponse) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.CorrelationID = r.i32()
	c.Data = r.nested()
}

// DataArrayResponse (type 33) answers with several data structures (e.g. XA
// recover).
type DataArrayResponse struct {
	CommandHeader
	CorrelationID int32
	Data          []DataStructure
}

func (*DataArrayResponse) DataType() byte { return TypeDataArrayResponse }
func (c *DataArrayResponse) marshal(w *writer) {
	c.marshalHeader(w)
	w.i32(c.CorrelationID)
	writeArray(w, c.Data)
}
func (c *DataArrayResponse) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.CorrelationID = r.i32()
	c.Data = readArray[DataStructure](r, "DataArrayResponse.data")
}

// IntegerResponse (type 34) answers with an int (e.g. XA prepare).
type IntegerResponse struct {
	CommandHeader
	CorrelationID int32
	Result        int32
}

func (*IntegerResponse) DataType() byte { return TypeIntegerResponse }
func (c *IntegerResponse) marshal(w *writer) {
	c.marshalHeader(w)
	w.i32(c.CorrelationID)
	w.i32(c.Result)
}
func (c *IntegerResponse) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.CorrelationID = r.i32()
	c.Result = r.i32()
}
