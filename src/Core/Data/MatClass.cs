namespace DqMlNet.Data;

/// <summary>MATLAB array classes (the <c>mxCLASS</c> values of the array-flags subelement of a MAT v5 file).</summary>
public enum MatClass : byte
{
    /// <summary>Cell array (<c>mxCELL_CLASS</c>).</summary>
    Cell = 1,

    /// <summary>Structure (<c>mxSTRUCT_CLASS</c>).</summary>
    Struct = 2,

    /// <summary>Object (<c>mxOBJECT_CLASS</c>).</summary>
    Object = 3,

    /// <summary>Character array (<c>mxCHAR_CLASS</c>).</summary>
    Char = 4,

    /// <summary>Sparse array (<c>mxSPARSE_CLASS</c>).</summary>
    Sparse = 5,

    /// <summary>Double precision (<c>mxDOUBLE_CLASS</c>).</summary>
    Double = 6,

    /// <summary>Single precision (<c>mxSINGLE_CLASS</c>).</summary>
    Single = 7,

    /// <summary>Signed 8-bit integer (<c>mxINT8_CLASS</c>).</summary>
    Int8 = 8,

    /// <summary>Unsigned 8-bit integer (<c>mxUINT8_CLASS</c>).</summary>
    UInt8 = 9,

    /// <summary>Signed 16-bit integer (<c>mxINT16_CLASS</c>).</summary>
    Int16 = 10,

    /// <summary>Unsigned 16-bit integer (<c>mxUINT16_CLASS</c>).</summary>
    UInt16 = 11,

    /// <summary>Signed 32-bit integer (<c>mxINT32_CLASS</c>).</summary>
    Int32 = 12,

    /// <summary>Unsigned 32-bit integer (<c>mxUINT32_CLASS</c>).</summary>
    UInt32 = 13,

    /// <summary>Signed 64-bit integer (<c>mxINT64_CLASS</c>).</summary>
    Int64 = 14,

    /// <summary>Unsigned 64-bit integer (<c>mxUINT64_CLASS</c>).</summary>
    UInt64 = 15,
}
